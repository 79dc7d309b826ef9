using System.Buffers;

namespace Jiniac.Text.Bpe;

/// <summary>
/// The BPE model of HF tokenizers (models/bpe/model.rs). Byte-level vocabularies: a piece's UTF-8 bytes become
/// the ids of their mapped chars. Char-level (SentencePiece-style) vocabularies: each char of the piece is looked
/// up, falling back to its UTF-8 bytes as &lt;0xXX&gt; tokens (byte_fallback) or to the unknown token (fused when
/// fuse_unk). Then pairs are merged lowest rank first, leftmost first among equal ranks (HF's Word::merge_all order).
/// </summary>
internal sealed class BpeModel : TokenModel
{
    // Pieces longer than this (in symbols) use the heap: the scan is quadratic in the piece length.
    private const int ScanLimit = 48;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly MergeTable _merges;
    private readonly bool _scanMatchesHeap;
    private readonly int[] _byteIds = new int[256];

    private readonly int[]? _bmpIds;
    private readonly int[]? _fallbackIds;

    // Char-level only: (last char of left << 16) | first char of right, for every merge. No merge can ever join the
    // symbols on either side of a position whose two chars are not such a pair.
    private readonly HashSet<int>? _bridges;

    /// <summary>The merges of tokenizer.json ("left right", rank = position) resolved to ids, checked against the vocabulary.</summary>
    public static List<(int A, int B, int Rank, int NewId)> Resolve(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges)
    {
        var resolved = new List<(int, int, int, int)>(merges.Count);
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

            resolved.Add((a, b, rank, merged));
        }

        return resolved;
    }

    /// <param name="merges">(left id, right id, rank, merged id); several pairs may share a rank and a merged id (tiktoken).</param>
    /// <param name="scanIsExact">
    /// Every symbol is the bytes it covers (byte-level, all 256 bytes in the vocabulary, no unknown token), so a pair
    /// whose symbols changed covers a longer span and can never again make the id a stale heap entry names: HF's
    /// heap order then equals merging the leftmost lowest-ranked pair even when several pairs make one id.
    /// </param>
    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(int A, int B, int Rank, int NewId)> merges, int? unkId, bool ignoreMerges, bool charLevel, bool byteFallback, bool fuseUnk, bool scanIsExact = false)
    {
        FuseUnk = fuseUnk;
        if (charLevel)
        {
            // One array lookup per BMP char instead of hashing a one-char string.
            _bmpIds = new int[65536];
            Array.Fill(_bmpIds, -1);
            foreach (var (token, id) in vocab)
            {
                if (token.Length == 1)
                {
                    _bmpIds[token[0]] = id;
                }
            }

            var tokens = new string[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
            foreach (var (token, id) in vocab)
            {
                tokens[id] = token;
            }

            _bridges = [];
            foreach (var (a, b, _, _) in merges)
            {
                if (tokens[a] is { Length: > 0 } left && tokens[b] is { Length: > 0 } right)
                {
                    _bridges.Add((left[^1] << 16) | right[0]);
                }
            }

            if (byteFallback)
            {
                // HF looks up format!("<{b:#04X}>"): "<0x" then two upper-case hex digits.
                _fallbackIds = new int[256];
                for (var b = 0; b < 256; b++)
                {
                    _fallbackIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
                }
            }
        }

        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkId = unkId;
        IgnoreMerges = ignoreMerges;
        _merges = new MergeTable(merges.Count);
        var producers = new Dictionary<int, long>();
        _scanMatchesHeap = true;
        foreach (var (a, b, rank, merged) in merges)
        {
            // HF collects merges into a map, so a repeated pair keeps its last rank.
            _merges.Set(a, b, rank, merged);
            var pair = ((long)a << 32) | (uint)b;
            if (producers.TryGetValue(merged, out var other) && other != pair)
            {
                _scanMatchesHeap = false;
            }

            producers[merged] = pair;
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

        if (scanIsExact && !charLevel && MissingBytes == 0)
        {
            _scanMatchesHeap = true;
        }
    }

    public int? UnkId { get; }
    public bool FuseUnk { get; }
    public bool CharLevel => _bmpIds is not null;

    /// <summary>
    /// Whether <see cref="NextCut"/> may cut long pieces: char-level and without ignore_merges (whose whole-word lookup
    /// applies to the whole piece only).
    /// </summary>
    public bool CanCut => _bridges is not null && !IgnoreMerges;

    /// <summary>
    /// The next position after <paramref name="from"/> before a ▁ where no merge can join the two sides (both chars
    /// single-char tokens, and no merge of a token ending in the left char with one starting with ▁), else the length.
    /// Encoding the parts separately gives exactly the ids of the whole: the merges on each side never interact.
    /// </summary>
    public int NextCut(ReadOnlySpan<char> piece, int from)
    {
        for (var i = from + 1; i < piece.Length; i++)
        {
            var c = piece[i];
            var left = piece[i - 1];
            if (c == '\u2581' && _bmpIds![c] >= 0 && !char.IsSurrogate(left) && _bmpIds[left] >= 0 && !_bridges!.Contains((left << 16) | c))
            {
                return i;
            }
        }

        return piece.Length;
    }
    public bool IgnoreMerges { get; }
    public int MissingBytes { get; }
    public int MergeCount => _merges.Count;
    public override IReadOnlyDictionary<string, int> Vocab => _vocab;

    public override bool TryGetId(ReadOnlySpan<char> token, out int id) => _vocabBySpan.TryGetValue(token, out id);

    public override void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        if (CharLevel)
        {
            EncodeChars(piece, output);
            return;
        }

        var byteCount = System.Text.Encoding.UTF8.GetByteCount(piece);
        byte[]? rented = null;
        var bytes = byteCount <= 1024 ? stackalloc byte[byteCount] : (rented = ArrayPool<byte>.Shared.Rent(byteCount)).AsSpan(0, byteCount);
        System.Text.Encoding.UTF8.GetBytes(piece, bytes);
        Encode(bytes, output);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Encodes one pre-token given as UTF-8 bytes, appending its ids.</summary>
    public void Encode(ReadOnlySpan<byte> bytes, List<int> output) => Encode(bytes, output, forceHeap: false);

    /// <summary>As <see cref="Encode(ReadOnlySpan{byte}, List{int})"/>; <paramref name="forceHeap"/> lets tests check the scan against HF's heap order.</summary>
    internal void Encode(ReadOnlySpan<byte> bytes, List<int> output, bool forceHeap)
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

        if (n > 1)
        {
            n = n <= ScanLimit && _scanMatchesHeap && !forceHeap ? MergeByScan(symbols[..n]) : MergeByHeap(symbols[..n]);
        }

        output.AddRange(symbols[..n]);

        if (rented is not null)
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>Encodes one pre-token of a char-level vocabulary (HF BPE::merge_word), appending its ids.</summary>
    public void EncodeChars(ReadOnlySpan<char> piece, List<int> output, bool forceHeap = false)
    {
        if (piece.IsEmpty)
        {
            return;
        }

        if (IgnoreMerges && _vocabBySpan.TryGetValue(piece, out var whole))
        {
            output.Add(whole);
            return;
        }

        // At most one symbol per UTF-8 byte, and a UTF-16 char is at most 3 UTF-8 bytes.
        var capacity = piece.Length * 3;
        int[]? rented = null;
        var symbols = capacity <= 768 ? stackalloc int[capacity] : (rented = ArrayPool<int>.Shared.Rent(capacity)).AsSpan(0, capacity);
        var n = 0;
        var pendingUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < piece.Length;)
        {
            var length = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            var c = piece.Slice(i, length);
            i += length;
            int id;
            if (length == 1)
            {
                id = _bmpIds![c[0]];
            }
            else if (!_vocabBySpan.TryGetValue(c, out id))
            {
                id = -1;
            }

            if (id >= 0)
            {
                if (pendingUnk)
                {
                    symbols[n++] = UnkId!.Value;
                    pendingUnk = false;
                }

                symbols[n++] = id;
                continue;
            }

            if (_fallbackIds is not null)
            {
                var count = System.Text.Encoding.UTF8.GetBytes(c, utf8);
                var all = true;
                for (var b = 0; b < count; b++)
                {
                    all &= _fallbackIds[utf8[b]] >= 0;
                }

                if (all)
                {
                    // As HF: a pending unknown token is not flushed here, so it lands after these bytes.
                    for (var b = 0; b < count; b++)
                    {
                        symbols[n++] = _fallbackIds[utf8[b]];
                    }

                    continue;
                }
            }

            if (UnkId is { } unk)
            {
                if (pendingUnk && !FuseUnk)
                {
                    symbols[n++] = unk;
                }

                pendingUnk = true;
            }

            // With no unk token HF drops the char, and so do we.
        }

        if (pendingUnk)
        {
            symbols[n++] = UnkId!.Value;
        }

        if (n > 1)
        {
            n = n <= ScanLimit && _scanMatchesHeap && !forceHeap ? MergeByScan(symbols[..n]) : MergeByHeap(symbols[..n]);
        }

        output.AddRange(symbols[..n]);
        if (rented is not null)
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    // HF's Word::merge_all pops (rank, position) from a heap, skipping stale entries. When no merged id is made by
    // two different pairs, a stale entry can never pass HF's "same new id" check, so repeatedly merging the
    // leftmost lowest-ranked pair gives the same result: a linear scan over cached pair ranks, cheaper than a
    // heap on short pieces.
    private int MergeByScan(Span<int> symbols)
    {
        var n = symbols.Length;
        Span<int> ranks = stackalloc int[n];
        Span<int> merged = stackalloc int[n];
        for (var i = 0; i < n - 1; i++)
        {
            ranks[i] = _merges.Rank(symbols[i], symbols[i + 1], out merged[i]);
        }

        ranks[n - 1] = int.MaxValue;
        while (n > 1)
        {
            var bestRank = int.MaxValue;
            var pos = -1;
            for (var i = 0; i < n - 1; i++)
            {
                if (ranks[i] < bestRank)
                {
                    (bestRank, pos) = (ranks[i], i);
                }
            }

            if (pos < 0)
            {
                break;
            }

            symbols[pos] = merged[pos];
            symbols[(pos + 2)..n].CopyTo(symbols[(pos + 1)..]);
            ranks[(pos + 2)..n].CopyTo(ranks[(pos + 1)..]);
            merged[(pos + 2)..n].CopyTo(merged[(pos + 1)..]);
            n--;
            ranks[pos] = pos + 1 < n ? _merges.Rank(symbols[pos], symbols[pos + 1], out merged[pos]) : int.MaxValue;
            if (pos > 0)
            {
                ranks[pos - 1] = _merges.Rank(symbols[pos - 1], symbols[pos], out merged[pos - 1]);
            }
        }

        return n;
    }

    // HF's Word::merge_all exactly: a binary heap of (rank, position, new id) candidates ordered by rank then
    // position, stale ones skipped when popped (the symbol is gone, or its pair no longer makes that id).
    private int MergeByHeap(Span<int> symbols)
    {
        var n = symbols.Length;
        var rented = ArrayPool<int>.Shared.Rent(3 * n);
        var heapRented = ArrayPool<Candidate>.Shared.Rent(3 * n);
        try
        {
            var next = rented.AsSpan(0, n);
            var prev = rented.AsSpan(n, n);
            var alive = rented.AsSpan(2 * n, n);
            var heap = heapRented.AsSpan(0, 3 * n);
            var count = 0;
            for (var i = 0; i < n; i++)
            {
                next[i] = i + 1 < n ? i + 1 : -1;
                prev[i] = i - 1;
                alive[i] = 1;
            }

            for (var i = 0; i + 1 < n; i++)
            {
                var rank = _merges.Rank(symbols[i], symbols[i + 1], out var id);
                if (rank != int.MaxValue)
                {
                    Push(heap, ref count, new Candidate(rank, i, id));
                }
            }

            while (count > 0)
            {
                var top = Pop(heap, ref count);
                var pos = top.Pos;
                var right = next[pos];
                if (alive[pos] == 0 || right < 0)
                {
                    continue;
                }

                if (_merges.Rank(symbols[pos], symbols[right], out var currentId) == int.MaxValue || currentId != top.NewId)
                {
                    continue;
                }

                symbols[pos] = top.NewId;
                alive[right] = 0;
                next[pos] = next[right];
                if (next[right] >= 0)
                {
                    prev[next[right]] = pos;
                }

                var before = prev[pos];
                if (before >= 0)
                {
                    var rank = _merges.Rank(symbols[before], symbols[pos], out var id);
                    if (rank != int.MaxValue)
                    {
                        Push(heap, ref count, new Candidate(rank, before, id));
                    }
                }

                var after = next[pos];
                if (after >= 0)
                {
                    var rank = _merges.Rank(symbols[pos], symbols[after], out var id);
                    if (rank != int.MaxValue)
                    {
                        Push(heap, ref count, new Candidate(rank, pos, id));
                    }
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
            ArrayPool<int>.Shared.Return(rented);
            ArrayPool<Candidate>.Shared.Return(heapRented);
        }
    }

    private static bool Before(in Candidate a, in Candidate b) => a.Rank < b.Rank || (a.Rank == b.Rank && a.Pos < b.Pos);

    private static void Push(Span<Candidate> heap, ref int count, Candidate c)
    {
        var i = count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Before(c, heap[parent]))
            {
                break;
            }

            heap[i] = heap[parent];
            i = parent;
        }

        heap[i] = c;
    }

    private static Candidate Pop(Span<Candidate> heap, ref int count)
    {
        var top = heap[0];
        var last = heap[--count];
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && Before(heap[child + 1], heap[child]))
            {
                child++;
            }

            if (!Before(heap[child], last))
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        if (count > 0)
        {
            heap[i] = last;
        }

        return top;
    }

    private readonly record struct Candidate(int Rank, int Pos, int NewId);
}
