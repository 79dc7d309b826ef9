using System.Text.Json;
using System.Text.Json.Nodes;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

/// <summary>Ids compared with those Hugging Face tokenizers 0.23.2 produced (TestData/README.md says how).</summary>
public sealed class GoldenTests
{
    public static TheoryData<string> Variants() => Names("variants.json");

    private static TheoryData<string> Names(string file)
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in JsonNode.Parse(TestFiles.Text(file))!.AsObject())
        {
            data.Add(name);
        }

        return data;
    }

    public static TheoryData<string> Llama2Variants() => Names("variants-llama2.json");

    public static TheoryData<string> TrainedSpecialVariants() => Names("variants-trained-special.json");

    [Theory]
    [MemberData(nameof(Llama2Variants))]
    public void Sentencepiece_style_bpe_variants_encode_like_hf(string variant)
    {
        // Llama 2's tokenizer.json (char-level BPE, byte fallback, Prepend + Replace normalizers) and patches of it:
        // Metaspace pre-tokenizers, NFKC / NFD / NFKD, Strip and regex Replace, unknown tokens fused or not.
        var patch = JsonNode.Parse(TestFiles.Text("variants-llama2.json"))![variant]!.AsObject();
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Variant(TestFiles.Llama2Json(), patch));
        var texts = TestFiles.GoldenTexts("golden-texts-sp.json");
        AssertGolden(tokenizer, texts, TestFiles.GoldenIds("golden-ids-llama2.json")[variant], addSpecialTokens: false);
        AssertGolden(tokenizer, texts, TestFiles.GoldenIds("golden-ids-llama2-special.json")[variant], addSpecialTokens: true);
        var decoded = JsonSerializer.Deserialize<Dictionary<string, string[]>>(TestFiles.Text("golden-decoded-llama2.json"))![variant];
        var ids = TestFiles.GoldenIds("golden-ids-llama2.json")[variant];
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(decoded[i] == tokenizer.Decode(ids[i]), $"text #{i} decodes to '{tokenizer.Decode(ids[i])}', HF '{decoded[i]}'");
        }
    }

    public static TheoryData<string> UnigramVariants() => Names("variants-unigram.json");

    [Theory]
    [MemberData(nameof(UnigramVariants))]
    public void Unigram_variants_encode_like_hf(string variant)
    {
        // A Unigram tokenizer.json made from sp-unigram.model's pieces and scores (NFKC, Metaspace, byte fallback) and patches.
        var patch = JsonNode.Parse(TestFiles.Text("variants-unigram.json"))![variant]!.AsObject();
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Variant(TestFiles.Bytes("unigram-2000.json"), patch));
        var texts = TestFiles.GoldenTexts("golden-texts-sp.json");
        AssertGolden(tokenizer, texts, TestFiles.GoldenIds("golden-ids-unigram.json")[variant], addSpecialTokens: false);
        AssertGolden(tokenizer, texts, TestFiles.GoldenIds("golden-ids-unigram-special.json")[variant], addSpecialTokens: true);
    }

    [Theory]
    [MemberData(nameof(TrainedSpecialVariants))]
    public void Post_processors_add_special_tokens_like_hf(string variant)
    {
        var patch = JsonNode.Parse(TestFiles.Text("variants-trained-special.json"))![variant]!.AsObject();
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Variant(TestFiles.Bytes("trained-1000.json"), patch));
        AssertGolden(tokenizer, TestFiles.GoldenTexts(), TestFiles.GoldenIds("golden-ids-trained-special.json")[variant], addSpecialTokens: true);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Trained_tokenizer_variants_encode_like_hf(string variant)
    {
        var patch = JsonNode.Parse(TestFiles.Text("variants.json"))![variant]!.AsObject();
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Variant(TestFiles.Bytes("trained-1000.json"), patch));
        AssertGolden(tokenizer, TestFiles.GoldenIds("golden-ids-trained-1000.json")[variant]);
    }

    [Fact]
    public void Gpt4o_encodes_like_hf()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson());
        AssertGolden(tokenizer, TestFiles.GoldenIds("golden-ids-gpt4o.json")["gpt4o"]);
        Assert.Equal(199999, tokenizer.EndOfDocumentId);
    }

    [Fact]
    public void Gpt4o_round_trips_mixed_text()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson());
        foreach (var text in TestFiles.GoldenTexts())
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    private static void AssertGolden(BpeTokenizer tokenizer, int[][] expected) => AssertGolden(tokenizer, TestFiles.GoldenTexts(), expected, addSpecialTokens: false);

    private static void AssertGolden(BpeTokenizer tokenizer, string[] texts, int[][] expected, bool addSpecialTokens)
    {
        Assert.Equal(texts.Length, expected.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            // Twice: the second pass is served from the pre-token cache.
            Assert.True(expected[i].AsSpan().SequenceEqual(tokenizer.Encode(texts[i], addSpecialTokens)), $"text #{i} differs on the first pass: [{string.Join(',', tokenizer.Encode(texts[i], addSpecialTokens))}] vs HF [{string.Join(',', expected[i])}]");
            Assert.True(expected[i].AsSpan().SequenceEqual(tokenizer.Encode(texts[i], addSpecialTokens)), $"text #{i} differs on the cached pass");
        }
    }
}
