using System.Text;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.SentencePiece;

/// <summary>
/// A SentencePiece <c>.model</c> file (ModelProto) encoded as spm_encode does: the model's own normalizer
/// (precompiled charsmap, e.g. nmt_nfkc), then Unigram (Viterbi over piece scores, in the same float arithmetic)
/// or BPE (highest-scoring adjacent pair first, leftmost among equals), then unknown pieces decomposed into
/// &lt;0xXX&gt; byte pieces when the model was trained with byte_fallback. No BOS/EOS is added (spm_encode's default).
/// Thread-safe.
/// </summary>
public sealed class SentencePieceTokenizer : ITextTokenizer
{
    // sentencepiece unigram_model.h kUnkPenalty.
    private const float UnkPenalty = 10.0f;

    private readonly Dictionary<string, int> _pieces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _piecesBySpan;
    private readonly Dictionary<string, int> _reserved = new(StringComparer.Ordinal);
    private readonly List<Piece> _all;
    private readonly SpmNormalizer _normalizer;
    private readonly int[] _byteIds = new int[256];
    private readonly bool _unigram;
    private readonly bool _byteFallback;
    private readonly bool _addDummyPrefix;
    private readonly int _unkId = -1;
    private readonly int _maxPieceLength;
    private readonly float _minScore = float.MaxValue;
    private readonly float _maxScore = float.MinValue;

    private SentencePieceTokenizer(ModelProto model, string source)
    {
        _all = model.Pieces;
        _unigram = model.ModelType switch
        {
            1 => true,
            2 => false,
            var t => throw new UnsupportedTokenizerException($"{source}: SentencePiece model_type {t} ({(t == 3 ? "WORD" : t == 4 ? "CHAR" : "unknown")}) is not supported (only UNIGRAM and BPE)"),
        };
        _byteFallback = model.ByteFallback;
        _addDummyPrefix = model.AddDummyPrefix;
        var userDefined = new List<byte[]>();
        Array.Fill(_byteIds, -1);
        for (var id = 0; id < _all.Count; id++)
        {
            var p = _all[id];
            if (p.Text.Length == 0)
            {
                throw new InvalidDataException($"{source}: piece #{id} is empty");
            }

            var normal = p.Type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused;
            if (!(normal ? _pieces : _reserved).TryAdd(p.Text, id))
            {
                throw new InvalidDataException($"{source}: piece '{p.Text}' appears twice");
            }

            switch (p.Type)
            {
                case PieceType.Normal:
                    _minScore = Math.Min(_minScore, p.Score);
                    _maxScore = Math.Max(_maxScore, p.Score);
                    break;
                case PieceType.UserDefined:
                    userDefined.Add(Encoding.UTF8.GetBytes(p.Text));
                    break;
                case PieceType.Unknown:
                    _unkId = _unkId < 0 ? id : throw new InvalidDataException($"{source}: more than one unknown piece");
                    break;
                case PieceType.Byte:
                    if (p.Text.Length == 6 && p.Text.StartsWith("<0x", StringComparison.Ordinal) && p.Text[5] == '>'
                        && byte.TryParse(p.Text.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
                    {
                        _byteIds[b] = id;
                    }

                    break;
            }

            if (normal)
            {
                _maxPieceLength = Math.Max(_maxPieceLength, p.Text.Length);
            }
        }

        if (_unkId < 0)
        {
            throw new InvalidDataException($"{source}: no unknown piece");
        }

        if (_byteFallback && Array.IndexOf(_byteIds, -1) >= 0)
        {
            throw new InvalidDataException($"{source}: byte_fallback is on but not all 256 <0xXX> pieces exist");
        }

        _piecesBySpan = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _normalizer = new SpmNormalizer(model, [.. userDefined], source);
        EndOfDocumentId = _reserved.TryGetValue("</s>", out var eos) ? eos : null;
    }

    public int VocabSize => _all.Count;

    public ReadOnlySpan<int> SpecialPrefix => [];

    public ReadOnlySpan<int> SpecialSuffix => [];

    public int? EndOfDocumentId { get; }

    public static SentencePieceTokenizer FromFile(string path) => FromBytes(File.ReadAllBytes(path), path);

    public static SentencePieceTokenizer FromBytes(ReadOnlySpan<byte> model, string source = "SentencePiece model") =>
        new(ModelProto.Parse(model, source), source);

    /// <summary>The id of a piece (normal, user-defined, control, unknown or byte), or null.</summary>
    public int? PieceToId(string piece) => _pieces.TryGetValue(piece, out var id) || _reserved.TryGetValue(piece, out id) ? id : null;

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        Encode(text, ids);
        return [.. ids];
    }

    public void Encode(string text, List<int> output)
    {
        var normalized = Encoding.UTF8.GetString(_normalizer.Normalize(Encoding.UTF8.GetBytes(text)));
        if (normalized.Length == 0)
        {
            return;
        }

        var pieces = new List<(int Start, int Length, int Id)>();
        if (_unigram)
        {
            Viterbi(normalized, pieces);
        }
        else
        {
            Bpe(normalized, pieces);
        }

        var previousUnknown = false;
        foreach (var (start, length, id) in pieces)
        {
            var unknown = id == _unkId;
            if (unknown && _byteFallback)
            {
                // SentencePieceProcessor::Encode: an unknown piece becomes its UTF-8 bytes.
                foreach (var b in Encoding.UTF8.GetBytes(normalized.Substring(start, length)))
                {
                    output.Add(_byteIds[b]);
                }
            }
            else if (!(unknown && previousUnknown))
            {
                // Without byte fallback a run of unknown pieces is merged into one unknown piece.
                output.Add(id);
            }

            previousUnknown = unknown;
        }
    }

    /// <summary>ids → text: pieces joined, ▁ as space, byte pieces as UTF-8, the dummy prefix's space dropped.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            var p = (uint)id < (uint)_all.Count ? _all[id] : throw new ArgumentOutOfRangeException(nameof(ids), id, "id outside the vocabulary");
            switch (p.Type)
            {
                case PieceType.Byte:
                    bytes.Add(byte.Parse(p.Text.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null));
                    break;
                case PieceType.Control:
                    break;
                default:
                    bytes.AddRange(Encoding.UTF8.GetBytes(p.Type == PieceType.Unknown ? " \u2047 " : p.Text.Replace('\u2581', ' ')));
                    break;
            }
        }

        var text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        return _addDummyPrefix && text.StartsWith(' ') ? text[1..] : text;
    }

    private static int CharLength(string s, int at) => char.IsHighSurrogate(s[at]) && at + 1 < s.Length && char.IsLowSurrogate(s[at + 1]) ? 2 : 1;

    // unigram_model.cc Model::EncodeOptimized: best path ending at each position, ties kept by the first found.
    // The arithmetic follows the C++ types: a user-defined score is double, a piece score float widened to double,
    // the unknown-token score float; the best score is stored as float.
    private void Viterbi(string s, List<(int Start, int Length, int Id)> output)
    {
        var n = s.Length;
        var bestScore = new float[n + 1];
        var startsAt = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(startsAt, -1);
        var unkScore = _minScore - UnkPenalty;
        for (var start = 0; start < n;)
        {
            var tillHere = bestScore[start];
            var mblen = CharLength(s, start);
            var hasSingle = false;
            var limit = Math.Min(n, start + _maxPieceLength);
            for (var end = start + 1; end <= limit; end++)
            {
                if (!_piecesBySpan.TryGetValue(s.AsSpan(start, end - start), out var id) || _all[id].Type == PieceType.Unused)
                {
                    continue;
                }

                var length = end - start;
                double score = _all[id].Type == PieceType.UserDefined
                    ? (Encoding.UTF8.GetByteCount(s.AsSpan(start, length)) * _maxScore) - 0.1
                    : _all[id].Score;
                var candidate = score + tillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = (float)candidate;
                    startsAt[end] = start;
                    ids[end] = id;
                }

                hasSingle |= length == mblen;
            }

            if (!hasSingle)
            {
                var end = start + mblen;
                var candidate = unkScore + tillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = candidate;
                    startsAt[end] = start;
                    ids[end] = _unkId;
                }
            }

            start += mblen;
        }

        var first = output.Count;
        for (var end = n; end > 0; end = startsAt[end])
        {
            output.Add((startsAt[end], end - startsAt[end], ids[end]));
        }

        output.Reverse(first, output.Count - first);
    }

    // bpe_model.cc Model::Encode: symbols are chars (a user-defined symbol is one frozen symbol); the agenda pops the
    // highest-scoring pair, leftmost among equals; a popped pair whose symbols changed since is skipped.
    private void Bpe(string s, List<(int Start, int Length, int Id)> output)
    {
        var starts = new List<int>();
        var lengths = new List<int>();
        var frozen = new List<bool>();
        for (var at = 0; at < s.Length;)
        {
            var user = UserDefinedAt(s, at);
            var length = user > 0 ? user : CharLength(s, at);
            starts.Add(at);
            lengths.Add(length);
            frozen.Add(user > 0);
            at += length;
        }

        var count = starts.Count;
        var prev = new int[count];
        var next = new int[count];
        for (var i = 0; i < count; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }

        var agenda = new PriorityQueue<(int Left, int Right, int Size), (float Score, int Left)>(Comparer<(float Score, int Left)>.Create(
            static (x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Left.CompareTo(y.Left)));
        void MaybeAdd(int left, int right)
        {
            if (left < 0 || right < 0 || frozen[left] || frozen[right])
            {
                return;
            }

            var size = lengths[left] + lengths[right];
            if (!_piecesBySpan.TryGetValue(s.AsSpan(starts[left], size), out var id))
            {
                return;
            }

            agenda.Enqueue((left, right, size), (_all[id].Score, left));
        }

        for (var i = 1; i < count; i++)
        {
            MaybeAdd(i - 1, i);
        }

        while (agenda.TryDequeue(out var top, out _))
        {
            if (lengths[top.Left] == 0 || lengths[top.Right] == 0 || lengths[top.Left] + lengths[top.Right] != top.Size)
            {
                continue;
            }

            lengths[top.Left] += lengths[top.Right];
            next[top.Left] = next[top.Right];
            if (next[top.Right] >= 0)
            {
                prev[next[top.Right]] = top.Left;
            }

            lengths[top.Right] = 0;
            MaybeAdd(prev[top.Left], top.Left);
            MaybeAdd(top.Left, next[top.Left]);
        }

        for (var i = 0; i >= 0 && count > 0; i = next[i])
        {
            Resegment(s, starts[i], lengths[i], output);
        }
    }

    private void Resegment(string s, int start, int length, List<(int Start, int Length, int Id)> output)
    {
        if (!_piecesBySpan.TryGetValue(s.AsSpan(start, length), out var id))
        {
            output.Add((start, length, _unkId));
            return;
        }

        // sentencepiece splits an UNUSED piece back into the pair it was merged from (rev_merge); not reproduced here.
        output.Add(_all[id].Type != PieceType.Unused ? (start, length, id) : throw new UnsupportedTokenizerException($"SentencePiece BPE: the UNUSED piece '{_all[id].Text}' would need re-segmenting, which is not supported"));
    }

    private int UserDefinedAt(string s, int at)
    {
        var best = 0;
        foreach (var p in _all)
        {
            if (p.Type == PieceType.UserDefined && p.Text.Length > best && s.AsSpan(at).StartsWith(p.Text, StringComparison.Ordinal))
            {
                best = p.Text.Length;
            }
        }

        return best;
    }
}
