using System.Buffers;

namespace Jiniac.Text.Bpe;

/// <summary>
/// The BPE model of HF tokenizers (models/bpe/model.rs) for byte-level vocabularies: a piece's UTF-8
/// bytes become the ids of their mapped chars, then pairs are merged lowest rank first, leftmost first
/// among equal ranks (HF's Word::merge_all order).
/// </summary>
internal sealed class BpeModel
{
    // Pieces longer than this (in symbols) use the heap instead of rescanning all pairs after each merge.
    private const int ScanLimit = 48;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int[] _byteIds = new int[256];

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, int? unkId, bool ignoreMerges)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkId = unkId;
        IgnoreMerges = ignoreMerges;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out var a) || !vocab.TryGetValue(right, out var b))
            {
                throw new UnsupportedTokenizerException($"merge #{rank} '{left} {right}' names a token missing from the vocabulary");
            }

            if (!vocab.TryGetValue(left + right, out var merged))
            {
                throw new UnsupportedTokenizerException($"merge #{rank} '{left} {right}' produces '{left + right}', which is missing from the vocabulary");
            }

            // HF collects merges into a map, so a repeated pair keeps its last rank.
            _merges[Key(a, b)] = (rank, merged);
        }

        MissingBytes = 0;
        for (var b = 0; b < 256; b++)
        {
            Span<char> c = [ByteLevel.ToChar((byte)b)];
            if (_vocabBySpan.TryGetValue(c, out var id))
            {
                _byteIds[b] = id;
            }
            else
            {
                _byteIds[b] = -1;
                MissingBytes++;
            }
        }
    }

    public int? UnkId { get; }
    public bool IgnoreMerges { get; }
    public int MissingBytes { get; }
    public int MergeCount => _merges.Count;
    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    public bool TryGetId(ReadOnlySpan<char> byteLevelToken, out int id) => _vocabBySpan.TryGetValue(byteLevelToken, out id);

    /// <summary>Encodes one pre-token given as UTF-8 bytes, appending its ids.</summary>
    public void Encode(ReadOnlySpan<byte> bytes, List<int> output)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if (IgnoreMerges)
        {
            char[]? rentedChars = null;
            var chars = bytes.Length <= 256 ? stackalloc char[bytes.Length] : (rentedChars = ArrayPool<char>.Shared.Rent(bytes.Length)).AsSpan(0, bytes.Length);
            ByteLevel.Map(bytes, chars);
            var found = _vocabBySpan.TryGetValue(chars, out var whole);
            if (rentedChars is not null)
            {
                ArrayPool<char>.Shared.Return(rentedChars);
            }

            if (found)
            {
                output.Add(whole);
                return;
            }
        }

        int[]? rented = null;
        var symbols = bytes.Length <= 256 ? stackalloc int[bytes.Length] : (rented = ArrayPool<int>.Shared.Rent(bytes.Length)).AsSpan(0, bytes.Length);
        var n = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var id = _byteIds[bytes[i]];
            if (id >= 0)
            {
                symbols[n++] = id;
            }
            else if (UnkId is { } unk)
            {
                symbols[n++] = unk;
            }

            // With no unk token HF drops a char the vocabulary lacks; the loader refuses vocabularies where that can happen silently.
        }

        n = n <= ScanLimit ? MergeByScan(symbols[..n]) : MergeByHeap(symbols[..n]);
        for (var i = 0; i < n; i++)
        {
            output.Add(symbols[i]);
        }

        if (rented is not null)
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    private int MergeByScan(Span<int> symbols)
    {
        var n = symbols.Length;
        while (n > 1)
        {
            var bestRank = int.MaxValue;
            var bestPos = -1;
            var bestId = 0;
            for (var i = 0; i < n - 1; i++)
            {
                if (_merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                {
                    (bestRank, bestPos, bestId) = (m.Rank, i, m.NewId);
                }
            }

            if (bestPos < 0)
            {
                break;
            }

            symbols[bestPos] = bestId;
            symbols[(bestPos + 2)..n].CopyTo(symbols[(bestPos + 1)..]);
            n--;
        }

        return n;
    }

    // HF's Word::merge_all: a heap of (rank, position) candidates, stale ones skipped when popped.
    private int MergeByHeap(Span<int> symbols)
    {
        var n = symbols.Length;
        var next = ArrayPool<int>.Shared.Rent(n);
        var prev = ArrayPool<int>.Shared.Rent(n);
        var alive = ArrayPool<bool>.Shared.Rent(n);
        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>(n);
        try
        {
            for (var i = 0; i < n; i++)
            {
                next[i] = i + 1 < n ? i + 1 : -1;
                prev[i] = i - 1;
                alive[i] = true;
                if (i + 1 < n && _merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out var m))
                {
                    queue.Enqueue((i, m.NewId), (m.Rank, i));
                }
            }

            while (queue.TryDequeue(out var top, out _))
            {
                var pos = top.Pos;
                if (!alive[pos] || next[pos] < 0)
                {
                    continue;
                }

                var right = next[pos];
                if (!_merges.TryGetValue(Key(symbols[pos], symbols[right]), out var current) || current.NewId != top.NewId)
                {
                    continue;
                }

                symbols[pos] = top.NewId;
                alive[right] = false;
                next[pos] = next[right];
                if (next[right] >= 0)
                {
                    prev[next[right]] = pos;
                }

                if (prev[pos] >= 0 && _merges.TryGetValue(Key(symbols[prev[pos]], symbols[pos]), out var before))
                {
                    queue.Enqueue((prev[pos], before.NewId), (before.Rank, prev[pos]));
                }

                if (next[pos] >= 0 && _merges.TryGetValue(Key(symbols[pos], symbols[next[pos]]), out var after))
                {
                    queue.Enqueue((pos, after.NewId), (after.Rank, pos));
                }
            }

            var w = 0;
            for (var i = 0; i >= 0; i = next[i])
            {
                symbols[w++] = symbols[i];
            }

            return w;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<bool>.Shared.Return(alive);
        }
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;
}
