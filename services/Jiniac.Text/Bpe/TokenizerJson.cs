using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Jiniac.Text.Bpe;

/// <summary>
/// Reads a Hugging Face tokenizer.json into a <see cref="BpeTokenizer"/>. Supported: model BPE, byte-level (the
/// pre-tokenizer ends with ByteLevel) or char-level with byte_fallback / unk_token / fuse_unk (SentencePiece
/// style), ignore_merges, merges as "a b" or ["a","b"]; pre_tokenizer null, ByteLevel, Split (regex or string,
/// any behaviour, invert), Metaspace (prepend_scheme, split) or a Sequence of them; normalizer null, NFC, NFD,
/// NFKC, NFKD, Prepend, Replace, Strip or a Sequence; added_tokens with lstrip/rstrip/single_word/normalized;
/// post_processor null, ByteLevel, TemplateProcessing, Bert/RobertaProcessing or a Sequence; decoder ByteLevel or a
/// chain of Replace / ByteFallback / Fuse / Strip / Metaspace (another decoder only makes Decode fail). Anything
/// else is refused with <see cref="UnsupportedTokenizerException"/> naming the component, because encoding it
/// differently would silently change ids.
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
            var decoder = ReadDecoder(root);
            var addedTokens = ReadAddedTokens(root);
            // Byte-level: the pre-tokenizer ends with ByteLevel, which maps each UTF-8 byte to a char of the vocabulary.
            var byteLevel = preTokenizer.Length > 0 && preTokenizer[^1] is ByteLevelStep;
            var model = ReadModel(root, byteLevel);
            if (byteLevel && model is UnigramModel)
            {
                throw new UnsupportedTokenizerException("tokenizer.json: a ByteLevel pre-tokenizer with a Unigram model is not supported");
            }

            var postProcessor = ReadPostProcessor(root);
            return new BpeTokenizer(model, preTokenizer, normalizers, addedTokens, postProcessor, decoder, cacheCapacity);
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

    private static Normalizer[] ReadNormalizer(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        var steps = new List<Normalizer>();
        AddNormalizer(n, steps);
        return [.. steps];
    }

    private static void AddNormalizer(JsonElement n, List<Normalizer> steps)
    {
        switch (TypeOf(n, "normalizer"))
        {
            case "NFC":
                steps.Add(new UnicodeNormalizer(NormalizationForm.FormC));
                break;
            case "NFD":
                steps.Add(new UnicodeNormalizer(NormalizationForm.FormD));
                break;
            case "NFKC":
                steps.Add(new UnicodeNormalizer(NormalizationForm.FormKC));
                break;
            case "NFKD":
                steps.Add(new UnicodeNormalizer(NormalizationForm.FormKD));
                break;
            case "Prepend":
                steps.Add(new PrependNormalizer(String(n, "prepend", "normalizer Prepend")));
                break;
            case "Replace":
                var content = String(n, "content", "normalizer Replace");
                var (literal, regex) = Pattern(n, "normalizer Replace");
                steps.Add(literal is not null ? new ReplaceNormalizer(literal, content) : new RegexReplaceNormalizer(Compile(regex!, "normalizer Replace"), content));
                break;
            case "Strip":
                steps.Add(new StripNormalizer(Bool(n, "strip_left", true), Bool(n, "strip_right", true)));
                break;
            case "Precompiled":
                byte[] blob;
                try
                {
                    blob = Convert.FromBase64String(String(n, "precompiled_charsmap", "normalizer Precompiled"));
                    steps.Add(new PrecompiledNormalizer(new SentencePiece.Charsmap(blob, "tokenizer.json: normalizer Precompiled: precompiled_charsmap")));
                }
                catch (Exception e) when (e is FormatException or InvalidDataException)
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: normalizer Precompiled: {e.Message}");
                }

                break;
            case "Sequence":
                foreach (var inner in n.GetProperty("normalizers").EnumerateArray())
                {
                    AddNormalizer(inner, steps);
                }

                break;
            case var other:
                // Lowercase, BertNormalizer, StripAccents, Precompiled…: case mappings and charsmap tables .NET does not
                // reproduce exactly, so they are refused rather than approximated.
                throw new UnsupportedTokenizerException($"tokenizer.json: normalizer '{other}' is not supported (only NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Precompiled or a Sequence of them)");
        }
    }

    private static string String(JsonElement e, string name, string component) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new UnsupportedTokenizerException($"tokenizer.json: {component} has no string \"{name}\"");

    /// <summary>A "pattern": {"String": literal} or {"Regex": pattern}.</summary>
    private static (string? Literal, string? Regex) Pattern(JsonElement e, string component)
    {
        if (!e.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: {component} has no pattern");
        }

        if (pattern.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
        {
            return (s.GetString()!, null);
        }

        if (pattern.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
        {
            return (null, r.GetString()!);
        }

        throw new UnsupportedTokenizerException($"tokenizer.json: {component} pattern is neither Regex nor String");
    }

    private static RegexSplitter Compile(string regex, string component)
    {
        try
        {
            return new RegexSplitter(regex);
        }
        catch (ArgumentException ex)
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: {component} regex '{regex}' cannot be compiled by .NET: {ex.Message}");
        }
    }

    private static PreTokenizerStep[] ReadPreTokenizer(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var p) || p.ValueKind == JsonValueKind.Null)
        {
            // SentencePiece-style tokenizers (Llama 2, Gemma) have none: each segment is one word.
            return [];
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

        for (var i = 0; i < steps.Count - 1; i++)
        {
            if (steps[i] is ByteLevelStep)
            {
                throw new UnsupportedTokenizerException("tokenizer.json: a ByteLevel pre-tokenizer must be the last step of the Sequence");
            }
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
                var (literal, pattern) = Pattern(e, "pre_tokenizer Split");
                var regex = literal is not null ? Regex.Escape(literal) : pattern!;
                var behaviorName = e.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
                if (!Enum.TryParse<SplitBehavior>(behaviorName, ignoreCase: false, out var behavior))
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: Split behavior '{behaviorName}' is not supported");
                }

                return new SplitStep(Compile(regex, "Split"), behavior, Bool(e, "invert", false));
            case "Metaspace":
                var replacement = String(e, "replacement", "pre_tokenizer Metaspace");
                if (replacement.Length != 1)
                {
                    throw new UnsupportedTokenizerException($"tokenizer.json: Metaspace replacement '{replacement}' is not one char");
                }

                return new MetaspaceStep(replacement[0], ReadPrependScheme(e), Bool(e, "split", true));
            case "Digits":
                return new CharClassStep(CharClassStep.IsNumeric, Bool(e, "individual_digits", false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous);
            case "WhitespaceSplit":
                return new CharClassStep(CharClassStep.IsWhiteSpace, SplitBehavior.Removed);
            case "Punctuation":
                var punctuation = e.TryGetProperty("behavior", out var pb) ? pb.GetString() : "Isolated";
                return Enum.TryParse<SplitBehavior>(punctuation, ignoreCase: false, out var pbehavior)
                    ? new CharClassStep(CharClassStep.IsPunctuation, pbehavior)
                    : throw new UnsupportedTokenizerException($"tokenizer.json: Punctuation behavior '{punctuation}' is not supported");
            case var other:
                // Whitespace and BertPreTokenizer use Rust's \w (Alphabetic, marks, Nd, Pc, Join_Control), which .NET's \w
                // differs from, so they are refused rather than approximated.
                throw new UnsupportedTokenizerException($"tokenizer.json: pre_tokenizer '{other}' is not supported (only ByteLevel, Split, Metaspace, Digits, WhitespaceSplit, Punctuation and a Sequence of them)");
        }
    }

    // Files from tokenizers < 0.14 say add_prefix_space instead of prepend_scheme.
    private static PrependScheme ReadPrependScheme(JsonElement e)
    {
        if (e.TryGetProperty("prepend_scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String)
        {
            return scheme.GetString() switch
            {
                "always" => PrependScheme.Always,
                "never" => PrependScheme.Never,
                "first" => PrependScheme.First,
                var other => throw new UnsupportedTokenizerException($"tokenizer.json: Metaspace prepend_scheme '{other}' is not known"),
            };
        }

        return Bool(e, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never;
    }

    private static PostProcessor ReadPostProcessor(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out var p) || p.ValueKind == JsonValueKind.Null)
        {
            return PostProcessor.None;
        }

        var result = PostProcessor.None;
        AddPostProcessor(p, ref result);
        return result;
    }

    private static void AddPostProcessor(JsonElement p, ref PostProcessor result)
    {
        switch (TypeOf(p, "post_processor"))
        {
            case "ByteLevel":
                // Changes offsets only, never ids.
                return;
            case "Sequence":
                foreach (var inner in p.GetProperty("processors").EnumerateArray())
                {
                    AddPostProcessor(inner, ref result);
                }

                return;
            case "TemplateProcessing":
                var prefix = new List<int>();
                var suffix = new List<int>();
                var seenSequence = false;
                var specials = p.GetProperty("special_tokens");
                foreach (var item in p.GetProperty("single").EnumerateArray())
                {
                    if (item.TryGetProperty("Sequence", out var seq))
                    {
                        if (seenSequence || seq.GetProperty("id").GetString() != "A")
                        {
                            throw new UnsupportedTokenizerException("tokenizer.json: TemplateProcessing 'single' must hold sequence A exactly once");
                        }

                        seenSequence = true;
                    }
                    else if (item.TryGetProperty("SpecialToken", out var special))
                    {
                        var name = special.GetProperty("id").GetString()!;
                        if (!specials.TryGetProperty(name, out var entry))
                        {
                            throw new UnsupportedTokenizerException($"tokenizer.json: TemplateProcessing names special token '{name}' missing from its special_tokens");
                        }

                        foreach (var id in entry.GetProperty("ids").EnumerateArray())
                        {
                            (seenSequence ? suffix : prefix).Add(id.GetInt32());
                        }
                    }
                    else
                    {
                        throw new UnsupportedTokenizerException("tokenizer.json: TemplateProcessing 'single' holds an item that is neither Sequence nor SpecialToken");
                    }
                }

                if (!seenSequence)
                {
                    throw new UnsupportedTokenizerException("tokenizer.json: TemplateProcessing 'single' has no sequence A");
                }

                Combine(ref result, prefix, suffix);
                return;
            case "BertProcessing" or "RobertaProcessing":
                // single: cls A sep, each given as [token, id].
                Combine(ref result, [p.GetProperty("cls")[1].GetInt32()], [p.GetProperty("sep")[1].GetInt32()]);
                return;
            case var other:
                throw new UnsupportedTokenizerException($"tokenizer.json: post_processor '{other}' is not supported (only ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing or a Sequence of them)");
        }
    }

    private static void Combine(ref PostProcessor result, List<int> prefix, List<int> suffix)
    {
        if (result.Prefix.Length > 0 || result.Suffix.Length > 0)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: more than one post-processor adds special tokens");
        }

        result = new PostProcessor([.. prefix], [.. suffix]);
    }

    /// <summary>The decoder: ByteLevel, a chain of token-string steps, none, or the name of one we cannot run.</summary>
    internal sealed record DecoderSpec(bool ByteLevel, DecoderStep[]? Chain, string? Unsupported);

    private static DecoderSpec ReadDecoder(JsonElement root)
    {
        if (!root.TryGetProperty("decoder", out var d) || d.ValueKind == JsonValueKind.Null)
        {
            return new DecoderSpec(false, null, null);
        }

        if (TypeOf(d, "decoder") == "ByteLevel")
        {
            return new DecoderSpec(true, null, null);
        }

        var chain = new List<DecoderStep>();
        var unsupported = AddDecoder(d, chain);
        // A decoder never changes encoding, so one we cannot run does not refuse the tokenizer: Decode names it instead.
        return unsupported is null ? new DecoderSpec(false, [.. chain], null) : new DecoderSpec(false, null, unsupported);
    }

    private static string? AddDecoder(JsonElement d, List<DecoderStep> chain)
    {
        switch (TypeOf(d, "decoder"))
        {
            case "Sequence":
                foreach (var inner in d.GetProperty("decoders").EnumerateArray())
                {
                    if (AddDecoder(inner, chain) is { } bad)
                    {
                        return bad;
                    }
                }

                return null;
            case "Replace":
                var (literal, _) = Pattern(d, "decoder Replace");
                if (literal is null)
                {
                    return "Replace (regex)";
                }

                chain.Add(new ReplaceDecoder(literal, String(d, "content", "decoder Replace")));
                return null;
            case "ByteFallback":
                chain.Add(new ByteFallbackDecoder());
                return null;
            case "Fuse":
                chain.Add(new FuseDecoder());
                return null;
            case "Strip":
                var content = String(d, "content", "decoder Strip");
                chain.Add(new StripDecoder(content[0], d.GetProperty("start").GetInt32(), d.GetProperty("stop").GetInt32()));
                return null;
            case "Metaspace":
                var replacement = String(d, "replacement", "decoder Metaspace");
                chain.Add(new MetaspaceDecoder(replacement[0], ReadPrependScheme(d) != PrependScheme.Never));
                return null;
            case var other:
                return other;
        }
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

    private static TokenModel ReadModel(JsonElement root, bool byteLevel)
    {
        if (!root.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedTokenizerException("tokenizer.json: no model");
        }

        // HF infers the model from the fields when "type" is missing (old files).
        var type = m.TryGetProperty("type", out var t) ? t.GetString() : (m.TryGetProperty("merges", out _) ? "BPE" : "unknown");
        if (type == "Unigram")
        {
            return ReadUnigram(m);
        }

        if (type != "BPE")
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: model '{type}' is not supported (only BPE and Unigram)");
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
            if (unkId is null && !byteLevel)
            {
                // HF fails the encoding of any unknown char then; we refuse the file up front.
                throw new UnsupportedTokenizerException($"tokenizer.json: BPE unk_token '{unk.GetString()}' is not in the vocabulary");
            }
        }

        var byteFallback = Bool(m, "byte_fallback", false);
        var model = new BpeModel(vocab, BpeModel.Resolve(vocab, merges), unkId, Bool(m, "ignore_merges", false), charLevel: !byteLevel, byteFallback, Bool(m, "fuse_unk", false));
        if (!byteLevel)
        {
            return model;
        }

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

    private static UnigramModel ReadUnigram(JsonElement m)
    {
        var vocab = new List<(string, double)>();
        foreach (var entry in m.GetProperty("vocab").EnumerateArray())
        {
            vocab.Add((entry[0].GetString()!, entry[1].GetDouble()));
        }

        int? unkId = m.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : null;
        if (unkId is { } id && (id < 0 || id >= vocab.Count))
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: Unigram unk_id {id} is outside the vocabulary of {vocab.Count}");
        }

        return new UnigramModel(vocab, unkId, Bool(m, "byte_fallback", false));
    }

    private static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
