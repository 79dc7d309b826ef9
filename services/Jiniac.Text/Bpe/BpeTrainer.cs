using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Jiniac.Text.Bpe;

public sealed record BpeTrainingOptions
{
    /// <summary>Target size of the vocabulary, special tokens and the 256 byte symbols included (as HF's vocab_size).</summary>
    public required int VocabSize { get; init; }

    /// <summary>A pair is merged only if it occurs at least this often (HF min_frequency).</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Special tokens, given ids 0..n-1 in this order.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<|endoftext|>"];

    /// <summary>The split pattern of the pre-tokenizer written into the tokenizer.json (default: Llama-3 / cl100k).</summary>
    public string Pattern { get; init; } = BpeTrainer.Llama3Pattern;
}

/// <summary>The result of training: the tokenizer.json bytes (deterministic for the same input) and the loaded tokenizer.</summary>
public sealed record TrainedTokenizer(byte[] Json, BpeTokenizer Tokenizer, int Merges, long Words);

/// <summary>
/// Byte-level BPE training with the semantics of HF tokenizers' BpeTrainer (models/bpe/trainer.rs): special tokens
/// first, then the 256 byte symbols in code point order, then merges chosen by highest pair count, ties to the
/// smallest (left id, right id), until vocab_size or min_frequency stops it. Pair counts are kept incrementally
/// with a pair → words index and a lazily refreshed priority queue, as HF does.
/// The pre-tokenizer written (and used for counting words) is Split(pattern, Isolated) + ByteLevel(use_regex=false),
/// the layout of Llama-3's and GPT-4o's tokenizer.json.
/// </summary>
public sealed class BpeTrainer
{
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly BpeTrainingOptions _options;
    private readonly SplitStep _split;
    private readonly Dictionary<string, long> _words = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _wordsBySpan;
    private readonly List<ReadOnlyMemory<char>> _pieces = [];
    private readonly List<(int, int)> _matches = [];

    public BpeTrainer(BpeTrainingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.VocabSize, 1);
        _options = options;
        _split = new SplitStep(new RegexSplitter(options.Pattern), SplitBehavior.Isolated, invert: false);
        _wordsBySpan = _words.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>UTF-8 bytes of text fed so far.</summary>
    public long FedBytes { get; private set; }

    /// <summary>Counts the pre-tokens of one text (HF trainer.feed: the text is pre-tokenized, not split on special tokens).</summary>
    public void Feed(string text)
    {
        _pieces.Clear();
        _split.Split(text.AsMemory(), _pieces, _matches, atStart: true);
        Span<char> small = stackalloc char[256];
        Span<byte> smallBytes = stackalloc byte[256];
        foreach (var piece in _pieces)
        {
            var span = piece.Span;
            var byteCount = Encoding.UTF8.GetByteCount(span);
            FedBytes += byteCount;
            // Words are keyed by their byte-level string (what HF's trainer sees after ByteLevel).
            var bytes = byteCount <= 256 ? smallBytes[..byteCount] : new byte[byteCount];
            Encoding.UTF8.GetBytes(span, bytes);
            var chars = byteCount <= 256 ? small[..byteCount] : new char[byteCount];
            ByteLevel.Map(bytes, chars);
            ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_wordsBySpan, chars, out _);
            count++;
        }
    }

    public TrainedTokenizer Train(CancellationToken cancellationToken = default)
    {
        var idToWord = new List<string>();
        var wordToId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in _options.SpecialTokens)
        {
            if (!wordToId.ContainsKey(special))
            {
                wordToId[special] = idToWord.Count;
                idToWord.Add(special);
            }
        }

        // Every char of a byte-level word is one of the 256, so the alphabet is exactly the initial alphabet.
        foreach (var c in ByteLevel.AlphabetInCodePointOrder())
        {
            var s = c.ToString();
            if (!wordToId.ContainsKey(s))
            {
                wordToId[s] = idToWord.Count;
                idToWord.Add(s);
            }
        }

        // Words as runs in one symbol array.
        var wordCount = _words.Count;
        var counts = new long[wordCount];
        var starts = new int[wordCount];
        var lengths = new int[wordCount];
        var total = 0;
        foreach (var (word, _) in _words)
        {
            total += word.Length;
        }

        var symbols = new int[total];
        var w = 0;
        var offset = 0;
        foreach (var (word, count) in _words)
        {
            counts[w] = count;
            starts[w] = offset;
            lengths[w] = word.Length;
            foreach (var c in word)
            {
                symbols[offset++] = wordToId[c.ToString()];
            }

            w++;
        }

        var pairCounts = new Dictionary<long, long>();
        var whereToUpdate = new Dictionary<long, HashSet<int>>();
        for (w = 0; w < wordCount; w++)
        {
            var s = starts[w];
            for (var i = 0; i + 1 < lengths[w]; i++)
            {
                var pair = Key(symbols[s + i], symbols[s + i + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += counts[w];
                Where(whereToUpdate, pair).Add(w);
            }
        }

        var queue = new PriorityQueue<MergeCandidate, MergeCandidate>(pairCounts.Count, MergeCandidate.Order);
        foreach (var (pair, pos) in whereToUpdate)
        {
            var count = pairCounts[pair];
            if (count > 0)
            {
                var candidate = new MergeCandidate(pair, count, pos);
                queue.Enqueue(candidate, candidate);
            }
        }

        whereToUpdate.Clear();
        var merges = new List<(int Left, int Right)>();
        while (wordToId.Count < _options.VocabSize && queue.TryDequeue(out var top, out _))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var actual = pairCounts[top.Pair];
            if (top.Count != actual)
            {
                var refreshed = top with { Count = actual };
                queue.Enqueue(refreshed, refreshed);
                continue;
            }

            if (top.Count < 1 || top.Count < _options.MinFrequency)
            {
                break;
            }

            var left = (int)(top.Pair >> 32);
            var right = (int)(uint)top.Pair;
            var newToken = idToWord[left] + idToWord[right];
            if (!wordToId.TryGetValue(newToken, out var newId))
            {
                newId = idToWord.Count;
                wordToId[newToken] = newId;
                idToWord.Add(newToken);
            }

            merges.Add((left, right));
            foreach (var word in top.Words)
            {
                lengths[word] = MergeWord(symbols.AsSpan(starts[word], lengths[word]), left, right, newId, counts[word], word, pairCounts, whereToUpdate);
            }

            foreach (var (pair, pos) in whereToUpdate)
            {
                var count = pairCounts[pair];
                if (count > 0)
                {
                    var candidate = new MergeCandidate(pair, count, pos);
                    queue.Enqueue(candidate, candidate);
                }
            }

            whereToUpdate.Clear();
        }

        var json = Write(idToWord, merges);
        return new TrainedTokenizer(json, BpeTokenizer.FromJson(json), merges.Count, wordCount);
    }

    // HF Word::merge: replaces each non-overlapping (left, right) left to right, reporting the pair count changes.
    private static int MergeWord(Span<int> s, int left, int right, int newId, long count, int word, Dictionary<long, long> pairCounts, Dictionary<long, HashSet<int>> whereToUpdate)
    {
        var n = s.Length;
        var w = 0;
        var i = 0;
        while (i < n)
        {
            if (s[i] == left && i + 1 < n && s[i + 1] == right)
            {
                if (w > 0)
                {
                    Change(Key(s[w - 1], left), -count);
                    Change(Key(s[w - 1], newId), count);
                    Where(whereToUpdate, Key(s[w - 1], newId)).Add(word);
                }

                if (i + 2 < n)
                {
                    Change(Key(right, s[i + 2]), -count);
                    Change(Key(newId, s[i + 2]), count);
                    Where(whereToUpdate, Key(newId, s[i + 2])).Add(word);
                }

                s[w++] = newId;
                i += 2;
            }
            else
            {
                s[w++] = s[i++];
            }
        }

        return w;

        void Change(long pair, long delta) => CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += delta;
    }

    private static HashSet<int> Where(Dictionary<long, HashSet<int>> whereToUpdate, long pair)
    {
        ref var set = ref CollectionsMarshal.GetValueRefOrAddDefault(whereToUpdate, pair, out var exists);
        if (!exists)
        {
            set = [];
        }

        return set!;
    }

    private byte[] Write(List<string> idToWord, List<(int Left, int Right)> merges)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            TrainedJson.WriteHeader(j, _options.SpecialTokens);
            j.WriteNull("normalizer");
            j.WriteStartObject("pre_tokenizer");
            j.WriteString("type", "Sequence");
            j.WriteStartArray("pretokenizers");
            j.WriteStartObject();
            j.WriteString("type", "Split");
            j.WriteStartObject("pattern");
            j.WriteString("Regex", _options.Pattern);
            j.WriteEndObject();
            j.WriteString("behavior", "Isolated");
            j.WriteBoolean("invert", false);
            j.WriteEndObject();
            WriteByteLevel(j, null, addPrefixSpace: false);
            j.WriteEndArray();
            j.WriteEndObject();
            WriteByteLevel(j, "post_processor", addPrefixSpace: true);
            WriteByteLevel(j, "decoder", addPrefixSpace: true);
            j.WriteStartObject("model");
            j.WriteString("type", "BPE");
            j.WriteNull("dropout");
            j.WriteNull("unk_token");
            j.WriteNull("continuing_subword_prefix");
            j.WriteNull("end_of_word_suffix");
            j.WriteBoolean("fuse_unk", false);
            j.WriteBoolean("byte_fallback", false);
            j.WriteBoolean("ignore_merges", false);
            j.WriteStartObject("vocab");
            for (var id = 0; id < idToWord.Count; id++)
            {
                j.WriteNumber(idToWord[id], id);
            }

            j.WriteEndObject();
            j.WriteStartArray("merges");
            foreach (var (left, right) in merges)
            {
                j.WriteStartArray();
                j.WriteStringValue(idToWord[left]);
                j.WriteStringValue(idToWord[right]);
                j.WriteEndArray();
            }

            j.WriteEndArray();
            j.WriteEndObject();
            j.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void WriteByteLevel(Utf8JsonWriter j, string? property, bool addPrefixSpace)
    {
        if (property is null)
        {
            j.WriteStartObject();
        }
        else
        {
            j.WriteStartObject(property);
        }

        j.WriteString("type", "ByteLevel");
        j.WriteBoolean("add_prefix_space", addPrefixSpace);
        j.WriteBoolean("trim_offsets", property is not "post_processor");
        j.WriteBoolean("use_regex", property is not null);
        j.WriteEndObject();
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private sealed record MergeCandidate(long Pair, long Count, HashSet<int> Words)
    {
        /// <summary>HF's Merge ordering as a min-queue: highest count first, then the smallest (left, right) pair.</summary>
        public static readonly IComparer<MergeCandidate> Order = Comparer<MergeCandidate>.Create(static (x, y) =>
        {
            var c = y.Count.CompareTo(x.Count);
            return c != 0 ? c : x.Pair.CompareTo(y.Pair);
        });
    }
}
