using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Jiniac.Text.Bpe;

/// <summary>
/// Reads a Hugging Face tokenizer.json into a <see cref="BpeTokenizer"/>. Supported: model BPE (byte-level
/// vocabulary, ignore_merges, unk_token, merges as "a b" or ["a","b"]); pre_tokenizer ByteLevel, or a Sequence
/// of Split (regex or string pattern, any behaviour, invert) and ByteLevel steps; normalizer null, NFC, NFKC or a
/// Sequence of those; added_tokens with lstrip/rstrip/single_word/normalized; decoder ByteLevel or null;
/// post_processor null or ByteLevel. Anything else is refused with <see cref="UnsupportedTokenizerException"/>
/// naming the component, because encoding it differently would silently change ids.
/// </summary>
public static class TokenizerJson
{
    public static BpeTokenizer Load(ReadOnlySpan<byte> utf8Json, int cacheCapacity = BpeTokenizer.DefaultCacheCapacity)
    {
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new UnsupportedTokenizerException($"tokenizer.json is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new UnsupportedTokenizerException("tokenizer.json: the root is not an object");
            }

            RefuseUnlessNull(root, "truncation", "truncation (it would cut encodings)");
            RefuseUnlessNull(root, "padding", "padding (it would add pad ids)");
            var normalizers = ReadNormalizer(root);
            var preTokenizer = ReadPreTokenizer(root);
            ReadPostProcessor(root);
            var byteLevelDecoder = ReadDecoder(root);
            var addedTokens = ReadAddedTokens(root);
            var model = ReadModel(root);
            return new BpeTokenizer(model, preTokenizer, normalizers, addedTokens, byteLevelDecoder, cacheCapacity);
        }
    }

    private static void RefuseUnlessNull(JsonElement root, string name, string what)
    {
        if (root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null)
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: {what} is not supported");
        }
    }

    private static string TypeOf(JsonElement e, string component) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new UnsupportedTokenizerException($"tokenizer.json: {component} has no \"type\"");

    private static NormalizationForm[] ReadNormalizer(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        var forms = new List<NormalizationForm>();
        AddNormalizer(n, forms);
        return [.. forms];
    }

    private static void AddNormalizer(JsonElement n, List<NormalizationForm> forms)
    {
        switch (TypeOf(n, "normalizer"))
        {
            case "NFC":
                forms.Add(NormalizationForm.FormC);
                break;
            case "NFKC":
                forms.Add(NormalizationForm.FormKC);
                break;
            case "Sequence":
                foreach (var inner in n.GetProperty("normalizers").EnumerateArray())
                {
                    AddNormalizer(inner, forms);
                }

                break;
            case var other:
                throw new UnsupportedTokenizerException($"tokenizer.json: normalizer '{other}' is not supported (only NFC, NFKC or a Sequence of them)");
        }
    }

    private static PreTokenizerStep[] ReadPreTokenizer(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var p) || p.ValueKind == JsonValueKind.Null)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: pre_tokenizer is null; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
        }

        var steps = new List<PreTokenizerStep>();
        if (TypeOf(p, "pre_tokenizer") == "Sequence")
        {
            foreach (var inner in p.GetProperty("pretokenizers").EnumerateArray())
            {
                steps.Add(ReadStep(inner));
            }
        }
        else
        {
            steps.Add(ReadStep(p));
        }

        if (steps.Count == 0 || steps[^1] is not ByteLevelStep)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: the pre_tokenizer must end with ByteLevel (byte-level BPE)");
        }

        return [.. steps];
    }

    private static PreTokenizerStep ReadStep(JsonElement e)
    {
        switch (TypeOf(e, "pre_tokenizer"))
        {
            case "ByteLevel":
                return new ByteLevelStep(Bool(e, "add_prefix_space", true), Bool(e, "use_regex", true), Bool(e, "trim_offsets", true));
            case "Split":
                var pattern = e.GetProperty("pattern");
                string regex;
                if (pattern.TryGetProperty("Regex", out var r))
                {
                    regex = r.GetString()!;
                }
                else if (pattern.TryGetProperty("String", out var s))
                {
                    regex = Regex.Escape(s.GetString()!);
                }
                else
                {
                    throw new UnsupportedTokenizerException("tokenizer.json: Split pattern is neither Regex nor String");
                }

                var behaviorName = e.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
                if (!Enum.TryParse<SplitBehavior>(behaviorName, ignoreCase: false, out var behavior))
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: Split behavior '{behaviorName}' is not supported");
                }

                RegexSplitter splitter;
                try
                {
                    splitter = new RegexSplitter(regex);
                }
                catch (ArgumentException ex)
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: Split regex '{regex}' cannot be compiled by .NET: {ex.Message}");
                }

                return new SplitStep(splitter, behavior, Bool(e, "invert", false));
            case var other:
                throw new UnsupportedTokenizerException($"tokenizer.json: pre_tokenizer '{other}' is not supported (only ByteLevel and Split)");
        }
    }

    private static void ReadPostProcessor(JsonElement root)
    {
        if (root.TryGetProperty("post_processor", out var p) && p.ValueKind != JsonValueKind.Null && TypeOf(p, "post_processor") != "ByteLevel")
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: post_processor '{TypeOf(p, "post_processor")}' is not supported (only null or ByteLevel, which add no tokens)");
        }
    }

    private static bool ReadDecoder(JsonElement root)
    {
        if (!root.TryGetProperty("decoder", out var d) || d.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        return TypeOf(d, "decoder") == "ByteLevel"
            ? true
            : throw new UnsupportedTokenizerException($"tokenizer.json: decoder '{TypeOf(d, "decoder")}' is not supported (only ByteLevel)");
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        var tokens = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var a) || a.ValueKind == JsonValueKind.Null)
        {
            return tokens;
        }

        foreach (var t in a.EnumerateArray())
        {
            tokens.Add(new AddedToken
            {
                Id = t.GetProperty("id").GetInt32(),
                Content = t.GetProperty("content").GetString()!,
                SingleWord = Bool(t, "single_word", false),
                LStrip = Bool(t, "lstrip", false),
                RStrip = Bool(t, "rstrip", false),
                Normalized = Bool(t, "normalized", true),
                Special = Bool(t, "special", false),
            });
        }

        return tokens;
    }

    private static BpeModel ReadModel(JsonElement root)
    {
        if (!root.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: no model");
        }

        // HF infers BPE from the fields when "type" is missing (old files).
        var type = m.TryGetProperty("type", out var t) ? t.GetString() : (m.TryGetProperty("merges", out _) ? "BPE" : "unknown");
        if (type != "BPE")
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: model '{type}' is not supported (only BPE)");
        }

        if (m.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: BPE dropout is not supported (it makes encoding random)");
        }

        foreach (var affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (m.TryGetProperty(affix, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
            {
                throw new UnsupportedTokenizerException($"tokenizer.json: BPE {affix} '{v.GetString()}' is not supported");
            }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in m.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var merges = new List<(string, string)>();
        foreach (var merge in m.GetProperty("merges").EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.Array)
            {
                merges.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                var s = merge.GetString()!;
                var space = s.IndexOf(' ', 1);
                if (space < 0)
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: merge '{s}' is not two tokens");
                }

                merges.Add((s[..space], s[(space + 1)..]));
            }
        }

        int? unkId = null;
        if (m.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String)
        {
            unkId = vocab.TryGetValue(unk.GetString()!, out var id) ? id : null;
        }

        var model = new BpeModel(vocab, merges, unkId, Bool(m, "ignore_merges", false));
        if (model.MissingBytes > 0 && unkId is null)
        {
            // HF would silently drop such bytes (or byte-fall-back): not a byte-level vocabulary we can match.
            throw new UnsupportedTokenizerException($"tokenizer.json: the BPE vocabulary lacks {model.MissingBytes} of the 256 byte-level symbols and has no unk_token");
        }

        if (model.MissingBytes > 0 && Bool(m, "byte_fallback", false))
        {
            throw new UnsupportedTokenizerException("tokenizer.json: BPE byte_fallback with an incomplete byte-level vocabulary is not supported");
        }

        return model;
    }

    private static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
