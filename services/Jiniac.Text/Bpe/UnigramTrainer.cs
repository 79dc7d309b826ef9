using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Jiniac.Text.Bpe;

public sealed record UnigramTrainingOptions
{
    /// <summary>Target size of the vocabulary, special tokens (and byte pieces) included.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Special tokens, given ids 0..n-1 in this order; the first is the unknown token (SentencePiece's &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;).</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<unk>", "<s>", "</s>"];

    /// <summary>Longest piece, in chars (SentencePiece max_sentencepiece_length).</summary>
    public int MaxPieceLength { get; init; } = 16;

    /// <summary>Each pruning round keeps this share of the pieces (SentencePiece shrinking_factor).</summary>
    public double ShrinkingFactor { get; init; } = 0.75;

    /// <summary>EM iterations per round (SentencePiece num_sub_iterations).</summary>
    public int EmIterations { get; init; } = 2;

    /// <summary>Add the 256 &lt;0xXX&gt; pieces after the special tokens and write byte_fallback (SentencePiece byte_fallback).</summary>
    public bool ByteFallback { get; init; }
}

/// <summary>The result of Unigram training: the tokenizer.json bytes (deterministic for the same input) and the loaded tokenizer.</summary>
public sealed record TrainedUnigram(byte[] Json, BpeTokenizer Tokenizer, int Pieces, long Words);

/// <summary>
/// Unigram training in SentencePiece's manner (trainer of unigram_model_trainer.cc): text NFKC-normalised and cut by
/// Metaspace (▁ for spaces, ▁ prepended, split before each ▁); seed pieces are the most frequent substrings (frequency ×
/// length); then rounds of EM (expected counts by forward-backward over each word's lattice, log-probability scores,
/// pieces expected less than 0.5 times dropped) and pruning (the pieces whose removal costs the least likelihood, each
/// replaced by its best segmentation without it, go first), until the vocabulary size. Every char seen is kept.
/// Not SentencePiece's byte-identical vocabulary (its seeding uses a suffix array over whole sentences and Bayesian
/// digamma updates); the output is a Unigram tokenizer.json HF tokenizers loads and encodes as our engine does.
/// </summary>
public sealed class UnigramTrainer
{
    private const char Space = '\u2581';

    private readonly UnigramTrainingOptions _options;
    private readonly Dictionary<string, long> _words = new(StringComparer.Ordinal);

    public UnigramTrainer(UnigramTrainingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.VocabSize, 1);
        if (options.SpecialTokens.Count == 0)
        {
            throw new ArgumentException("at least one special token (the first is the unknown token)", nameof(options));
        }

        _options = options;
    }

    /// <summary>UTF-8 bytes of text fed so far.</summary>
    public long FedBytes { get; private set; }

    /// <summary>Counts the words of one text: NFKC, spaces as ▁, ▁ prepended unless there, split before each ▁ (what the written tokenizer.json does).</summary>
    public void Feed(string text)
    {
        FedBytes += Encoding.UTF8.GetByteCount(text);
        var s = text.Normalize(NormalizationForm.FormKC).Replace(' ', Space);
        if (s.Length > 0 && s[0] != Space)
        {
            s = Space + s;
        }

        var start = 0;
        for (var i = 1; i <= s.Length; i++)
        {
            if (i == s.Length || s[i] == Space)
            {
                if (i > start)
                {
                    var word = s[start..i];
                    _words[word] = _words.GetValueOrDefault(word) + 1;
                }

                start = i;
            }
        }
    }

    public TrainedUnigram Train(CancellationToken cancellationToken = default)
    {
        var words = _words.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => (Word: w.Key, Count: w.Value)).ToArray();
        var reserved = _options.SpecialTokens.Count + (_options.ByteFallback ? 256 : 0);
        var target = _options.VocabSize - reserved;

        // Every char is required (character_coverage 1.0); the seeds are the substrings scored by frequency × length.
        var chars = new Dictionary<string, double>(StringComparer.Ordinal);
        var substrings = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (word, count) in words)
        {
            var bounds = Bounds(word);
            for (var a = 0; a < bounds.Length - 1; a++)
            {
                var c = word[bounds[a]..bounds[a + 1]];
                chars[c] = chars.GetValueOrDefault(c) + count;
                for (var b = a + 2; b < bounds.Length && b - a <= _options.MaxPieceLength; b++)
                {
                    var sub = word[bounds[a]..bounds[b]];
                    substrings[sub] = substrings.GetValueOrDefault(sub) + count;
                }
            }
        }

        if (chars.Count > target)
        {
            throw new ArgumentException($"vocab_size {_options.VocabSize} is too small: the text has {chars.Count} distinct chars, plus {reserved} reserved pieces");
        }

        var seedSize = Math.Max(target * 10, 1000);
        var seeds = substrings.Where(s => s.Value >= 2)
            .OrderByDescending(s => s.Value * Bounds(s.Key).Length)
            .ThenBy(s => s.Key, StringComparer.Ordinal)
            .Take(seedSize)
            .ToList();
        var pieces = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (c, f) in chars)
        {
            pieces[c] = f;
        }

        foreach (var (s, f) in seeds)
        {
            pieces[s] = f;
        }

        ToLogProb(pieces);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < _options.EmIterations; i++)
            {
                var expected = ExpectedCounts(pieces, words);
                pieces = expected.Where(e => e.Value >= 0.5 || chars.ContainsKey(e.Key))
                    .ToDictionary(e => e.Key, e => Math.Max(e.Value, 0.5), StringComparer.Ordinal);
                ToLogProb(pieces);
            }

            if (pieces.Count <= target)
            {
                break;
            }

            pieces = Prune(pieces, words, chars, Math.Max(target, (int)(pieces.Count * _options.ShrinkingFactor)));
        }

        var ordered = pieces.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        var json = Write(ordered);
        return new TrainedUnigram(json, BpeTokenizer.FromJson(json), ordered.Count, words.Length);
    }

    private static void ToLogProb(Dictionary<string, double> pieces)
    {
        var logSum = Math.Log(pieces.Values.Sum());
        foreach (var key in pieces.Keys.ToList())
        {
            pieces[key] = Math.Log(pieces[key]) - logSum;
        }
    }

    // Code point boundaries of a word: 0, ..., word.Length.
    private static int[] Bounds(string word)
    {
        var bounds = new List<int> { 0 };
        for (var i = 0; i < word.Length;)
        {
            i += char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            bounds.Add(i);
        }

        return [.. bounds];
    }

    /// <summary>E-step: each piece's expected count over all words (forward-backward on each word's lattice).</summary>
    private Dictionary<string, double> ExpectedCounts(Dictionary<string, double> scores, (string Word, long Count)[] words)
    {
        var lookup = scores.GetAlternateLookup<ReadOnlySpan<char>>();
        var expected = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (word, count) in words)
        {
            var bounds = Bounds(word);
            var n = bounds.Length - 1;
            var alpha = new double[n + 1];
            var beta = new double[n + 1];
            Array.Fill(alpha, double.NegativeInfinity);
            Array.Fill(beta, double.NegativeInfinity);
            alpha[0] = 0;
            for (var b = 1; b <= n; b++)
            {
                for (var a = Math.Max(0, b - _options.MaxPieceLength); a < b; a++)
                {
                    if (lookup.TryGetValue(word.AsSpan(bounds[a], bounds[b] - bounds[a]), out var s))
                    {
                        alpha[b] = LogAdd(alpha[b], alpha[a] + s);
                    }
                }
            }

            beta[n] = 0;
            for (var a = n - 1; a >= 0; a--)
            {
                for (var b = a + 1; b <= Math.Min(n, a + _options.MaxPieceLength); b++)
                {
                    if (lookup.TryGetValue(word.AsSpan(bounds[a], bounds[b] - bounds[a]), out var s))
                    {
                        beta[a] = LogAdd(beta[a], s + beta[b]);
                    }
                }
            }

            var z = alpha[n];
            for (var a = 0; a < n; a++)
            {
                for (var b = a + 1; b <= Math.Min(n, a + _options.MaxPieceLength); b++)
                {
                    var piece = word.AsSpan(bounds[a], bounds[b] - bounds[a]);
                    if (lookup.TryGetValue(piece, out var s))
                    {
                        var key = piece.ToString();
                        expected[key] = expected.GetValueOrDefault(key) + (count * Math.Exp(alpha[a] + s + beta[b] - z));
                    }
                }
            }
        }

        // A piece never on any lattice keeps a zero count (then dropped unless it is a char).
        foreach (var key in scores.Keys)
        {
            expected.TryAdd(key, 0);
        }

        return expected;
    }

    private static double LogAdd(double x, double y)
    {
        if (double.IsNegativeInfinity(x))
        {
            return y;
        }

        if (double.IsNegativeInfinity(y))
        {
            return x;
        }

        var (hi, lo) = x > y ? (x, y) : (y, x);
        return hi + Math.Log(1 + Math.Exp(lo - hi));
    }

    /// <summary>Keeps <paramref name="keep"/> pieces: chars always, then the costliest to remove (frequency × score lost).</summary>
    private Dictionary<string, double> Prune(Dictionary<string, double> scores, (string Word, long Count)[] words, Dictionary<string, double> chars, int keep)
    {
        // How often each piece is on the best segmentation of the words.
        var lookup = scores.GetAlternateLookup<ReadOnlySpan<char>>();
        var freq = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (word, count) in words)
        {
            foreach (var piece in Viterbi(word, lookup, exclude: null))
            {
                freq[piece] = freq.GetValueOrDefault(piece) + count;
            }
        }

        var loss = new List<(string Piece, double Loss)>();
        foreach (var (piece, score) in scores)
        {
            if (chars.ContainsKey(piece))
            {
                continue;
            }

            // Removing the piece replaces it by its best segmentation without it.
            var alternative = 0.0;
            foreach (var part in Viterbi(piece, lookup, exclude: piece))
            {
                alternative += scores[part];
            }

            loss.Add((piece, freq.GetValueOrDefault(piece) * (score - alternative)));
        }

        var kept = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in chars.Keys)
        {
            kept[c] = scores[c];
        }

        foreach (var (piece, _) in loss.OrderByDescending(l => l.Loss).ThenBy(l => l.Piece, StringComparer.Ordinal))
        {
            if (kept.Count >= keep)
            {
                break;
            }

            kept[piece] = scores[piece];
        }

        return kept;
    }

    private List<string> Viterbi(string word, Dictionary<string, double>.AlternateLookup<ReadOnlySpan<char>> lookup, string? exclude)
    {
        var bounds = Bounds(word);
        var n = bounds.Length - 1;
        var best = new double[n + 1];
        var from = new int[n + 1];
        Array.Fill(best, double.NegativeInfinity);
        best[0] = 0;
        for (var b = 1; b <= n; b++)
        {
            for (var a = Math.Max(0, b - _options.MaxPieceLength); a < b; a++)
            {
                var piece = word.AsSpan(bounds[a], bounds[b] - bounds[a]);
                if (lookup.TryGetValue(piece, out var s) && !(exclude is not null && piece.SequenceEqual(exclude)) && best[a] + s > best[b])
                {
                    (best[b], from[b]) = (best[a] + s, a);
                }
            }
        }

        var parts = new List<string>();
        for (var b = n; b > 0; b = from[b])
        {
            parts.Add(word[bounds[from[b]]..bounds[b]]);
        }

        parts.Reverse();
        return parts;
    }

    private byte[] Write(List<KeyValuePair<string, double>> pieces)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            TrainedJson.WriteHeader(j, _options.SpecialTokens);
            j.WriteStartObject("normalizer");
            j.WriteString("type", "NFKC");
            j.WriteEndObject();
            WriteMetaspace(j, "pre_tokenizer");
            j.WriteNull("post_processor");
            WriteMetaspace(j, "decoder");
            j.WriteStartObject("model");
            j.WriteString("type", "Unigram");
            j.WriteNumber("unk_id", 0);
            j.WriteStartArray("vocab");
            foreach (var special in _options.SpecialTokens)
            {
                WritePiece(j, special, 0.0);
            }

            if (_options.ByteFallback)
            {
                for (var b = 0; b < 256; b++)
                {
                    WritePiece(j, $"<0x{b:X2}>", 0.0);
                }
            }

            foreach (var (piece, score) in pieces)
            {
                WritePiece(j, piece, score);
            }

            j.WriteEndArray();
            j.WriteBoolean("byte_fallback", _options.ByteFallback);
            j.WriteEndObject();
            j.WriteEndObject();
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    private static void WriteMetaspace(Utf8JsonWriter j, string property)
    {
        j.WriteStartObject(property);
        j.WriteString("type", "Metaspace");
        j.WriteString("replacement", "\u2581");
        j.WriteString("prepend_scheme", "always");
        j.WriteBoolean("split", true);
        j.WriteEndObject();
    }

    private static void WritePiece(Utf8JsonWriter j, string piece, double score)
    {
        j.WriteStartArray();
        j.WriteStringValue(piece);
        // Shortest round-trip form, so HF reads back exactly this double.
        j.WriteRawValue(score.ToString("R", CultureInfo.InvariantCulture));
        j.WriteEndArray();
    }
}
