namespace Jiniac.Text.Bpe;

/// <summary>
/// HF tokenizers' Unigram model (models/unigram/model.rs encode_optimized + tokenize): the best-scoring segmentation
/// by Viterbi over the vocabulary's f64 scores (an unknown char scores the lowest score minus 10), ties kept by the
/// first found; runs of unknown chars fused into one piece, which becomes its &lt;0xXX&gt; byte tokens when
/// byte_fallback and all exist, else the unknown id.
/// </summary>
internal sealed class UnigramModel : TokenModel
{
    private const double UnkPenalty = 10.0;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly double[] _scores;
    private readonly int? _unkId;
    private readonly bool _byteFallback;
    private readonly int _maxLength;
    private readonly double _unkScore;

    public UnigramModel(IReadOnlyList<(string Token, double Score)> vocab, int? unkId, bool byteFallback)
    {
        _vocab = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        _scores = new double[vocab.Count];
        var min = double.PositiveInfinity;
        for (var id = 0; id < vocab.Count; id++)
        {
            var (token, score) = vocab[id];
            // HF's token_to_ids keeps the last id of a repeated token.
            _vocab[token] = id;
            _scores[id] = score;
            min = Math.Min(min, score);
            _maxLength = Math.Max(_maxLength, token.Length);
        }

        _bySpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _unkId = unkId;
        _byteFallback = byteFallback;
        _unkScore = min - UnkPenalty;
    }

    public override IReadOnlyDictionary<string, int> Vocab => _vocab;

    public override bool TryGetId(ReadOnlySpan<char> token, out int id) => _bySpan.TryGetValue(token, out id);

    public override void EncodePiece(ReadOnlySpan<char> s, List<int> output)
    {
        var n = s.Length;
        var best = new double[n + 1];
        var startsAt = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(startsAt, -1);
        for (var start = 0; start < n;)
        {
            var tillHere = best[start];
            var mblen = char.IsHighSurrogate(s[start]) && start + 1 < n && char.IsLowSurrogate(s[start + 1]) ? 2 : 1;
            var hasSingle = false;
            var limit = Math.Min(n, start + _maxLength);
            for (var end = start + 1; end <= limit; end++)
            {
                if (!_bySpan.TryGetValue(s[start..end], out var id))
                {
                    continue;
                }

                var candidate = _scores[id] + tillHere;
                if (startsAt[end] == -1 || candidate > best[end])
                {
                    (best[end], startsAt[end], ids[end]) = (candidate, start, id);
                }

                hasSingle |= end - start == mblen;
            }

            if (!hasSingle)
            {
                // HF fails the whole encoding here when there is no unk_id, whether or not this node is used.
                _ = _unkId ?? throw new UnsupportedTokenizerException($"tokenizer.json: Unigram has no unk_id, and '{s.Slice(start, mblen).ToString()}' is not in the vocabulary (HF fails here too)");
                var end = start + mblen;
                var candidate = _unkScore + tillHere;
                if (startsAt[end] == -1 || candidate > best[end])
                {
                    // -1 marks the unknown node (HF stores unk_id there).
                    (best[end], startsAt[end], ids[end]) = (candidate, start, -1);
                }
            }

            start += mblen;
        }

        // Backtrack, fusing consecutive unknown nodes (and nodes that are the unknown token itself) into one piece.
        var pieces = new List<(int Start, int End, bool Unknown)>();
        for (var end = n; end > 0;)
        {
            var start = startsAt[end];
            var unknown = ids[end] == -1 || (_unkId is { } u && ids[end] == u);
            if (unknown && pieces.Count > 0 && pieces[^1].Unknown)
            {
                pieces[^1] = (start, pieces[^1].End, true);
            }
            else
            {
                pieces.Add((start, end, unknown));
            }

            end = start;
        }

        for (var i = pieces.Count - 1; i >= 0; i--)
        {
            var piece = s[pieces[i].Start..pieces[i].End];
            if (_bySpan.TryGetValue(piece, out var id))
            {
                output.Add(id);
            }
            else if (!(_byteFallback && TryAddBytes(piece, output)))
            {
                output.Add(_unkId!.Value);
            }
        }
    }

    private bool TryAddBytes(ReadOnlySpan<char> piece, List<int> output)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(piece.ToString());
        var ids = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            if (!_vocab.TryGetValue($"<0x{bytes[i]:X2}>", out ids[i]))
            {
                return false;
            }
        }

        output.AddRange(ids);
        return true;
    }
}
