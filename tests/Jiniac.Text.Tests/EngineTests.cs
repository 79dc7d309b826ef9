using System.Text;
using System.Text.Json.Nodes;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

public sealed class EngineTests
{
    [Fact]
    public void Byte_mapping_is_gpt2s()
    {
        // openai/gpt-2 encoder.py bytes_to_unicode: printable bytes map to themselves, the rest from U+0100 in byte order.
        Assert.Equal('!', ByteLevel.ToChar((byte)'!'));
        Assert.Equal('Ġ', ByteLevel.ToChar((byte)' '));
        Assert.Equal('Ċ', ByteLevel.ToChar((byte)'\n'));
        Assert.Equal('Ā', ByteLevel.ToChar(0));
        Assert.Equal('ÿ', ByteLevel.ToChar(0xFF));
        Assert.Equal('Ń', ByteLevel.ToChar(0xAD));
        var seen = new HashSet<char>();
        for (var b = 0; b < 256; b++)
        {
            var c = ByteLevel.ToChar((byte)b);
            Assert.True(seen.Add(c));
            Assert.Equal(b, ByteLevel.ToByte(c));
        }

        Assert.Equal(-1, ByteLevel.ToByte('あ'));
        Assert.Equal("ãģĤ", ByteLevel.Map("あ"));
    }

    [Fact]
    public void Merges_apply_lowest_rank_first()
    {
        // Merges ranked (c,d) < (b,c) < (a,b) < (ab,cd). "abcd": cd forms first, so bc never can; then ab, then abcd.
        var tokenizer = BpeTokenizer.FromJson(Json(["c d", "b c", "a b", "ab cd"], ["ab", "bc", "cd", "abcd"]));
        Assert.Equal([Id(tokenizer, "abcd")], tokenizer.Encode("abcd"));
        // "abc": (b,c) outranks (a,b).
        Assert.Equal([Id(tokenizer, "a"), Id(tokenizer, "bc")], tokenizer.Encode("abc"));
        Assert.Equal([Id(tokenizer, "ab"), Id(tokenizer, "a")], tokenizer.Encode("aba"));
        // Unmergeable bytes stay single byte symbols: "é" is two UTF-8 bytes.
        Assert.Equal([Id(tokenizer, "Ã"), Id(tokenizer, "©")], tokenizer.Encode("é"));
    }

    [Fact]
    public void Long_pieces_merge_the_same_as_short_ones()
    {
        // Over 48 symbols the heap path runs; "ab" repeated must give the same ids as short runs, concatenated.
        var tokenizer = BpeTokenizer.FromJson(Json(["a b", "ab ab"], ["ab", "abab"]));
        var ids = tokenizer.Encode(string.Concat(Enumerable.Repeat("ab", 101)));
        Assert.Equal(51, ids.Length);
        Assert.All(ids[..50], id => Assert.Equal(Id(tokenizer, "abab"), id));
        Assert.Equal(Id(tokenizer, "ab"), ids[50]);
    }

    [Fact]
    public void Scan_merging_gives_hf_heap_order_on_real_text()
    {
        // Short pieces merge by a scan over cached pair ranks, valid only because o200k makes each merged id from
        // one pair; HF's heap order (forceHeap) must give the same ids on every piece of real text.
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson(), cacheCapacity: 0);
        var text = TestFiles.Text("moby-dick-ch1-3.txt") + TestFiles.Text("ja-original.txt") + string.Concat(TestFiles.GoldenTexts());
        var pieces = 0;
        foreach (var word in text.Split([' ', '\n']))
        {
            var bytes = Encoding.UTF8.GetBytes(" " + word);
            List<int> scan = [], heap = [];
            var model = (BpeModel)tokenizer.Model;
            model.Encode(bytes, scan, forceHeap: false);
            model.Encode(bytes, heap, forceHeap: true);
            Assert.Equal(heap, scan);
            pieces++;
        }

        Assert.True(pieces > 10_000);
    }

    [Fact]
    public void Cutting_long_sentencepiece_pieces_at_unbridged_word_boundaries_keeps_the_ids()
    {
        // Llama 2 has no pre-tokenizer: a paragraph is one piece, cut where no merge can join the sides. Merging the
        // whole paragraph as one piece, as HF does, must give the same ids.
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Llama2Json(), cacheCapacity: 0);
        var model = (BpeModel)tokenizer.Model;
        Assert.True(model.CanCut);
        var paragraphs = TestFiles.Text("moby-dick-ch1-3.txt").Split("\n\n").Concat(TestFiles.Text("ja-original.txt").Split('\n')).Where(p => p.Length > 0).ToList();
        foreach (var paragraph in paragraphs)
        {
            List<int> whole = [];
            model.EncodeChars("\u2581" + paragraph.Replace(' ', '\u2581'), whole, forceHeap: true);
            Assert.Equal(whole, tokenizer.Encode(paragraph));
        }

        Assert.True(paragraphs.Count > 50);
    }

    [Fact]
    public void Clearing_the_cache_keeps_the_ids()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson());
        var text = TestFiles.Text("ja-original.txt");
        var first = tokenizer.Encode(text);
        tokenizer.ClearCache();
        Assert.Equal(first, tokenizer.Encode(text));
        Assert.Equal(first, tokenizer.Encode(text));
    }

    [Fact]
    public void Special_tokens_are_matched_before_pre_tokenization_and_decode_back()
    {
        var tokenizer = BpeTokenizer.FromJson(Json([], [], specials: ["<|endoftext|>", "<|end|>"]));
        var ids = tokenizer.Encode("a<|endoftext|>b<|end|>");
        Assert.Equal([Id(tokenizer, "a"), 0, Id(tokenizer, "b"), 1], ids);
        Assert.Equal("a<|endoftext|>b<|end|>", tokenizer.Decode(ids));
        Assert.Equal("ab", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(0, tokenizer.EndOfDocumentId);
    }

    [Fact]
    public void Decode_replaces_incomplete_utf8_like_hf()
    {
        var tokenizer = BpeTokenizer.FromJson(Json([], []));
        var ids = tokenizer.Encode("あ");
        Assert.Equal(3, ids.Length);
        Assert.Equal("\uFFFD", tokenizer.Decode(ids[..2]));
        Assert.Equal("あ", tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData("model", """{"type":"Unigram","unk_id":0,"vocab":[["a",0.0]]}""", "ByteLevel pre-tokenizer with a Unigram model")]
    [InlineData("model", """{"type":"WordPiece","vocab":{"a":0},"unk_token":"a"}""", "model 'WordPiece'")]
    [InlineData("pre_tokenizer", """{"type":"Whitespace"}""", "pre_tokenizer 'Whitespace'")]
    [InlineData("pre_tokenizer", """{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"},{"type":"Metaspace","replacement":"▁"}]}""", "ByteLevel pre-tokenizer must be the last")]
    [InlineData("pre_tokenizer", """{"type":"Sequence","pretokenizers":[{"type":"BertPreTokenizer"},{"type":"ByteLevel"}]}""", "pre_tokenizer 'BertPreTokenizer'")]
    [InlineData("normalizer", """{"type":"Lowercase"}""", "normalizer 'Lowercase'")]
    [InlineData("normalizer", """{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"BertNormalizer"}]}""", "normalizer 'BertNormalizer'")]
    [InlineData("post_processor", """{"type":"TemplateProcessing","single":[],"pair":[],"special_tokens":{}}""", "TemplateProcessing 'single' has no sequence A")]
    [InlineData("post_processor", """{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{}}""", "special token '<s>' missing")]
    [InlineData("truncation", """{"max_length":8}""", "truncation")]
    public void Unsupported_components_are_refused_by_name(string key, string value, string expected)
    {
        var root = JsonNode.Parse(Json([], []))!.AsObject();
        root[key] = JsonNode.Parse(value);
        var e = Assert.Throws<UnsupportedTokenizerException>(() => BpeTokenizer.FromJson(Encoding.UTF8.GetBytes(root.ToJsonString())));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_decoder_that_cannot_run_fails_decoding_by_name_but_not_encoding()
    {
        var root = JsonNode.Parse(Json(["a b"], ["ab"]))!.AsObject();
        root["decoder"] = JsonNode.Parse("""{"type":"CTC","pad_token":"<pad>"}""");
        var tokenizer = BpeTokenizer.FromJson(Encoding.UTF8.GetBytes(root.ToJsonString()));
        var ids = tokenizer.Encode("ab");
        Assert.Equal([Id(tokenizer, "ab")], ids);
        var e = Assert.Throws<UnsupportedTokenizerException>(() => tokenizer.Decode(ids));
        Assert.Contains("decoder 'CTC'", e.Message);
    }

    [Fact]
    public void Bpe_options_that_change_ids_are_refused()
    {
        foreach (var (field, value, expected) in new[]
                 {
                     ("dropout", "0.1", "dropout"),
                     ("continuing_subword_prefix", "\"##\"", "continuing_subword_prefix"),
                     ("end_of_word_suffix", "\"</w>\"", "end_of_word_suffix"),
                 })
        {
            var root = JsonNode.Parse(Json([], []))!.AsObject();
            root["model"]![field] = JsonNode.Parse(value);
            var e = Assert.Throws<UnsupportedTokenizerException>(() => BpeTokenizer.FromJson(Encoding.UTF8.GetBytes(root.ToJsonString())));
            Assert.Contains(expected, e.Message);
        }

        var missingByte = JsonNode.Parse(Json([], []))!.AsObject();
        missingByte["model"]!["vocab"]!.AsObject().Remove("Ā");
        Assert.Contains("lacks 1 of the 256", Assert.Throws<UnsupportedTokenizerException>(() => BpeTokenizer.FromJson(Encoding.UTF8.GetBytes(missingByte.ToJsonString()))).Message);
        Assert.Throws<UnsupportedTokenizerException>(() => BpeTokenizer.FromJson("not json"u8));
    }

    private static int Id(BpeTokenizer tokenizer, string token) => tokenizer.TokenToId(token) ?? throw new KeyNotFoundException(token);

    /// <summary>A minimal byte-level tokenizer.json: the 256 byte symbols (after the specials), extra tokens, merges "a b".</summary>
    internal static byte[] Json(string[] merges, string[] extraTokens, string[]? specials = null)
    {
        specials ??= [];
        var vocab = new JsonObject();
        var added = new JsonArray();
        var id = 0;
        foreach (var s in specials)
        {
            added.Add(new JsonObject { ["id"] = id, ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
            vocab[s] = id++;
        }

        foreach (var c in ByteLevel.AlphabetInCodePointOrder())
        {
            vocab[c.ToString()] = id++;
        }

        foreach (var t in extraTokens)
        {
            vocab[t] = id++;
        }

        var mergeArray = new JsonArray();
        foreach (var m in merges)
        {
            mergeArray.Add(m);
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject { ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["vocab"] = vocab, ["merges"] = mergeArray },
        };
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
