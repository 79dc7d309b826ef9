namespace Jiniac.Text.Bpe;

/// <summary>
/// Loads a tiktoken vocabulary (a <c>.tiktoken</c> file: one "base64-token rank" per line) into a
/// <see cref="BpeTokenizer"/> that encodes as tiktoken's CoreBPE does: special tokens matched first, the split
/// regex, a piece found whole in the vocabulary becomes that token, else the adjacent pair whose concatenation has
/// the lowest rank is merged, leftmost first, until none is in the vocabulary.
/// </summary>
public static class TiktokenFile
{
    private const string Cl100kPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string O200kPattern = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string R50kPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The split pattern and special tokens of the encodings tiktoken names (tiktoken_ext/openai_public.py).</summary>
    public static (string Pattern, IReadOnlyDictionary<string, int> SpecialTokens) Encoding(string name) => name switch
    {
        "o200k_base" => (O200kPattern, new Dictionary<string, int> { ["<|endoftext|>"] = 199999, ["<|endofprompt|>"] = 200018 }),
        "cl100k_base" => (Cl100kPattern, new Dictionary<string, int>
        {
            ["<|endoftext|>"] = 100257,
            ["<|fim_prefix|>"] = 100258,
            ["<|fim_middle|>"] = 100259,
            ["<|fim_suffix|>"] = 100260,
            ["<|endofprompt|>"] = 100276,
        }),
        "p50k_base" => (R50kPattern, new Dictionary<string, int> { ["<|endoftext|>"] = 50256 }),
        "r50k_base" or "gpt2" => (R50kPattern, new Dictionary<string, int> { ["<|endoftext|>"] = 50256 }),
        _ => throw new UnsupportedTokenizerException($"tiktoken encoding '{name}' is not known (o200k_base, cl100k_base, p50k_base, r50k_base, gpt2); give its pattern and special tokens"),
    };

    /// <summary>Loads <paramref name="path"/> with the pattern and special tokens of the named encoding.</summary>
    public static BpeTokenizer Load(string path, string encodingName, int cacheCapacity = BpeTokenizer.DefaultCacheCapacity)
    {
        var (pattern, specials) = Encoding(encodingName);
        return Load(File.ReadAllBytes(path), pattern, specials, path, cacheCapacity);
    }

    /// <param name="source">Named in errors (a file name).</param>
    public static BpeTokenizer Load(ReadOnlySpan<byte> ranksFile, string pattern, IReadOnlyDictionary<string, int> specialTokens, string source = "tiktoken file", int cacheCapacity = BpeTokenizer.DefaultCacheCapacity)
    {
        // Tokens keyed by their byte-level string (GPT-2's byte → char map), so the byte-level BPE path runs unchanged.
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var byRank = new List<(string Token, int Rank)>();
        var text = System.Text.Encoding.ASCII.GetString(ranksFile);
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            var space = line.IndexOf(' ');
            if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rank))
            {
                throw new UnsupportedTokenizerException($"{source}:{lineNumber}: expected 'base64-token rank'");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(line[..space]);
            }
            catch (FormatException)
            {
                throw new UnsupportedTokenizerException($"{source}:{lineNumber}: '{line[..space]}' is not base64");
            }

            var token = string.Create(bytes.Length, bytes, static (chars, b) => ByteLevel.Map(b, chars));
            if (!vocab.TryAdd(token, rank))
            {
                throw new UnsupportedTokenizerException($"{source}:{lineNumber}: token listed twice");
            }

            byRank.Add((token, rank));
        }

        // tiktoken merges two adjacent parts when their concatenation is a token, lowest rank first. The parts are
        // always tokens, so every split of a token into two tokens is a merge, ranked by the token it makes.
        var merges = new List<(int A, int B, int Rank, int NewId)>();
        foreach (var (token, rank) in byRank)
        {
            for (var k = 1; k < token.Length; k++)
            {
                if (vocab.TryGetValue(token[..k], out var a) && vocab.TryGetValue(token[k..], out var b))
                {
                    merges.Add((a, b, rank, rank));
                }
            }
        }

        var model = new BpeModel(vocab, merges, unkId: null, ignoreMerges: true, charLevel: false, byteFallback: false, fuseUnk: false, scanIsExact: true);
        if (model.MissingBytes > 0)
        {
            throw new UnsupportedTokenizerException($"{source}: {model.MissingBytes} of the 256 single bytes are not tokens, so some text cannot be encoded");
        }

        var added = new List<AddedToken>();
        foreach (var (content, id) in specialTokens)
        {
            added.Add(new AddedToken { Id = id, Content = content, Special = true, Normalized = false });
        }

        RegexSplitter splitter;
        try
        {
            splitter = new RegexSplitter(pattern);
        }
        catch (ArgumentException e)
        {
            throw new UnsupportedTokenizerException($"{source}: pattern cannot be compiled by .NET: {e.Message}");
        }

        PreTokenizerStep[] steps = [new SplitStep(splitter, SplitBehavior.Isolated, invert: false), new ByteLevelStep(addPrefixSpace: false, useRegex: false, trimOffsets: false)];
        return new BpeTokenizer(model, steps, [], added, PostProcessor.None, new TokenizerJson.DecoderSpec(true, null, null), cacheCapacity);
    }
}
