using System.Collections.Concurrent;
using System.Text;

namespace Jiniac.Text.Bpe;

/// <summary>
/// A BPE tokenizer loaded from a Hugging Face tokenizer.json: byte-level (GPT-2/4o, Llama 3, Qwen) or
/// SentencePiece-style with byte fallback (Llama 2, Gemma); see <see cref="TokenizerJson"/> for what is supported.
/// Encoding gives the ids HF tokenizers gives. Thread-safe: one instance serves all workers.
/// </summary>
public sealed class BpeTokenizer : ITextTokenizer
{
    /// <summary>Most pre-tokens cached; like HF's BPE cache it stops growing when full rather than evicting.</summary>
    public const int DefaultCacheCapacity = 200_000;

    // Names tried, in order, for the end-of-document token before falling back to the first special token.
    private static readonly string[] EndOfDocumentNames = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"];

    private readonly TokenModel _model;
    private readonly PreTokenizerStep[] _preTokenizer;
    // HF caches only words shorter than this (models/bpe/model.rs MAX_LENGTH); longer ones rarely repeat.
    private const int CacheMaxLength = 256;

    private readonly Normalizer[] _normalizers;
    private readonly PostProcessor _postProcessor;
    private readonly DecoderStep[]? _decoderChain;
    private readonly string? _unsupportedDecoder;
    private readonly AddedTokenMatcher? _rawAdded;
    private readonly AddedTokenMatcher? _normalizedAdded;
    private readonly string?[] _idToToken;
    private readonly bool[] _isSpecial;
    private readonly bool _byteLevelDecoder;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private readonly int _cacheCapacity;
    private int _cacheCount;

    internal BpeTokenizer(
        TokenModel model,
        PreTokenizerStep[] preTokenizer,
        Normalizer[] normalizers,
        IReadOnlyList<AddedToken> addedTokens,
        PostProcessor postProcessor,
        TokenizerJson.DecoderSpec decoder,
        int cacheCapacity)
    {
        _model = model;
        _preTokenizer = preTokenizer;
        _normalizers = normalizers;
        _postProcessor = postProcessor;
        _byteLevelDecoder = decoder.ByteLevel;
        _decoderChain = decoder.Chain;
        _unsupportedDecoder = decoder.Unsupported;
        _cacheCapacity = cacheCapacity;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        AddedTokens = addedTokens;

        var raw = new List<AddedToken>();
        var normalized = new List<AddedToken>();
        var maxId = -1;
        foreach (var (_, id) in model.Vocab)
        {
            maxId = Math.Max(maxId, id);
        }

        foreach (var t in addedTokens)
        {
            // HF matches normalized added tokens on the normalized text; with no normalizer the two are the same.
            (t.Normalized && normalizers.Length > 0 ? normalized : raw).Add(t);
            maxId = Math.Max(maxId, t.Id);
        }

        _rawAdded = raw.Count > 0 ? new AddedTokenMatcher(raw) : null;
        _normalizedAdded = normalized.Count > 0 ? new AddedTokenMatcher(normalized) : null;
        VocabSize = maxId + 1;
        _idToToken = new string?[VocabSize];
        _isSpecial = new bool[VocabSize];
        foreach (var (token, id) in model.Vocab)
        {
            _idToToken[id] = token;
        }

        foreach (var t in addedTokens)
        {
            _idToToken[t.Id] = t.Content;
            _isSpecial[t.Id] = t.Special;
        }
    }

    internal TokenModel Model => _model;

    /// <summary>One more than the highest id (model vocabulary and added tokens): the embedding rows a model needs.</summary>
    public int VocabSize { get; }

    public IReadOnlyList<AddedToken> AddedTokens { get; }

    public static BpeTokenizer FromFile(string path, int cacheCapacity = DefaultCacheCapacity) =>
        TokenizerJson.Load(File.ReadAllBytes(path), cacheCapacity);

    public static BpeTokenizer FromJson(ReadOnlySpan<byte> utf8Json, int cacheCapacity = DefaultCacheCapacity) =>
        TokenizerJson.Load(utf8Json, cacheCapacity);

    /// <summary>
    /// The end-of-document token: the first of &lt;|endoftext|&gt;, &lt;|end_of_text|&gt;, &lt;/s&gt;, &lt;eos&gt; that
    /// the tokenizer has (added token or vocabulary entry), else the special added token with the lowest id, else null.
    /// </summary>
    public int? EndOfDocumentId
    {
        get
        {
            foreach (var name in EndOfDocumentNames)
            {
                if (TokenToId(name) is { } id)
                {
                    return id;
                }
            }

            int? first = null;
            foreach (var t in AddedTokens)
            {
                if (t.Special && (first is null || t.Id < first))
                {
                    first = t.Id;
                }
            }

            return first;
        }
    }

    public int? TokenToId(string token)
    {
        foreach (var t in AddedTokens)
        {
            if (t.Content == token)
            {
                return t.Id;
            }
        }

        return _model.TryGetId(token, out var id) ? id : null;
    }

    /// <summary>The token string of an id (byte-level chars for model tokens), or null when the id is unused.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Empties the pre-token cache (it refills as text is encoded). Not to be called while encoding.</summary>
    public void ClearCache()
    {
        _cache.Clear();
        Volatile.Write(ref _cacheCount, 0);
    }

    /// <summary>The ids the post-processor puts before and after a sequence when special tokens are added (e.g. Llama's BOS).</summary>
    public ReadOnlySpan<int> SpecialPrefix => _postProcessor.Prefix;

    /// <inheritdoc cref="SpecialPrefix"/>
    public ReadOnlySpan<int> SpecialSuffix => _postProcessor.Suffix;

    public int[] Encode(string text) => Encode(text, addSpecialTokens: false);

    /// <summary>The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> as HF's encode(text, add_special_tokens).</summary>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, addSpecialTokens);
        return [.. ids];
    }

    /// <summary>Appends the ids of <paramref name="text"/> (no special tokens are added around it).</summary>
    public void Encode(string text, List<int> output) => Encode(text, output, addSpecialTokens: false);

    /// <summary>Appends the ids of <paramref name="text"/>, with the post-processor's special tokens around them when asked.</summary>
    public void Encode(string text, List<int> output, bool addSpecialTokens)
    {
        if (addSpecialTokens)
        {
            output.AddRange(_postProcessor.Prefix);
        }

        var state = new EncodeState();
        if (_rawAdded is null)
        {
            EncodeSegment(text.AsMemory(), output, state, atStart: true);
        }
        else
        {
            var segments = new List<(ReadOnlyMemory<char> Text, AddedToken? Token)>();
            _rawAdded.Split(text.AsMemory(), segments);
            var first = true;
            foreach (var (segment, token) in segments)
            {
                if (token is not null)
                {
                    output.Add(token.Id);
                }
                else
                {
                    EncodeSegment(segment, output, state, atStart: first);
                }

                first = false;
            }
        }

        if (addSpecialTokens)
        {
            output.AddRange(_postProcessor.Suffix);
        }
    }

    private void EncodeSegment(ReadOnlyMemory<char> segment, List<int> output, EncodeState state, bool atStart)
    {
        if (_normalizers.Length > 0)
        {
            var s = segment.ToString();
            foreach (var normalizer in _normalizers)
            {
                s = normalizer.Apply(s);
            }

            segment = s.AsMemory();
            if (_normalizedAdded is not null)
            {
                var segments = new List<(ReadOnlyMemory<char> Text, AddedToken? Token)>();
                _normalizedAdded.Split(segment, segments);
                var first = atStart;
                foreach (var (part, token) in segments)
                {
                    if (token is not null)
                    {
                        output.Add(token.Id);
                    }
                    else
                    {
                        PreTokenizeAndEncode(part, output, state, first);
                    }

                    first = false;
                }

                return;
            }
        }

        PreTokenizeAndEncode(segment, output, state, atStart);
    }

    private void PreTokenizeAndEncode(ReadOnlyMemory<char> text, List<int> output, EncodeState state, bool atStart)
    {
        var current = state.PiecesA;
        var next = state.PiecesB;
        current.Clear();
        current.Add(text);
        foreach (var step in _preTokenizer)
        {
            next.Clear();
            foreach (var piece in current)
            {
                // Only a piece at offset 0 of a segment that starts the text starts the original text.
                step.Split(piece, next, state.Matches, atStart && System.Runtime.InteropServices.MemoryMarshal.TryGetString(piece, out _, out var offset, out _) && offset == 0);
            }

            (current, next) = (next, current);
        }

        foreach (var piece in current)
        {
            EncodePiece(piece.Span, output);
        }
    }

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        if (piece.IsEmpty)
        {
            return;
        }

        // With no pre-tokenizer (Llama 2, Gemma) a piece is a whole segment; cut at word boundaries no merge crosses,
        // so that the words are merged as short pieces and come from the cache when they repeat.
        if (piece.Length > 32 && _model is BpeModel { CanCut: true } bpe)
        {
            for (var from = 0; from < piece.Length;)
            {
                var to = bpe.NextCut(piece, from);
                EncodeCached(piece[from..to], output);
                from = to;
            }

            return;
        }

        EncodeCached(piece, output);
    }

    private void EncodeCached(ReadOnlySpan<char> piece, List<int> output)
    {
        if (_cacheBySpan.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        var start = output.Count;
        _model.EncodePiece(piece, output);

        if (piece.Length < CacheMaxLength && Volatile.Read(ref _cacheCount) < _cacheCapacity)
        {
            var ids = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output)[start..].ToArray();
            if (_cacheBySpan.TryAdd(piece, ids))
            {
                Interlocked.Increment(ref _cacheCount);
            }
        }
    }

    /// <summary>ids → text, as HF's decode: the ByteLevel decoder (invalid UTF-8 becomes U+FFFD), a chain of
    /// Replace / ByteFallback / Fuse / Strip / Metaspace, or none (tokens joined with spaces).</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        if (_unsupportedDecoder is not null)
        {
            throw new UnsupportedTokenizerException($"tokenizer.json: decoder '{_unsupportedDecoder}' is not supported, so this tokenizer can encode but not decode");
        }

        if (_decoderChain is not null)
        {
            var tokens = new List<string>(ids.Length);
            foreach (var id in ids)
            {
                if (TokenForDecode(id, skipSpecialTokens) is { } t)
                {
                    tokens.Add(t);
                }
            }

            foreach (var step in _decoderChain)
            {
                step.Apply(tokens);
            }

            return string.Concat(tokens);
        }

        if (!_byteLevelDecoder)
        {
            // HF without a decoder joins the tokens with spaces.
            var parts = new List<string>(ids.Length);
            foreach (var id in ids)
            {
                if (TokenForDecode(id, skipSpecialTokens) is { } t)
                {
                    parts.Add(t);
                }
            }

            return string.Join(' ', parts);
        }

        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            if (TokenForDecode(id, skipSpecialTokens) is not { } token)
            {
                continue;
            }

            var mapped = true;
            foreach (var c in token)
            {
                if (ByteLevel.ToByte(c) < 0)
                {
                    mapped = false;
                    break;
                }
            }

            if (mapped)
            {
                foreach (var c in token)
                {
                    bytes.Add((byte)ByteLevel.ToByte(c));
                }
            }
            else
            {
                // HF's ByteLevel decoder keeps a token holding any unmapped char as its UTF-8 bytes.
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    private string? TokenForDecode(int id, bool skipSpecialTokens)
    {
        if ((uint)id >= (uint)_idToToken.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"id outside [0, {_idToToken.Length})");
        }

        if (skipSpecialTokens && _isSpecial[id])
        {
            return null;
        }

        return _idToToken[id];
    }

    /// <summary>Per-call scratch lists (a call is one document: these are not per-token allocations).</summary>
    private sealed class EncodeState
    {
        public List<ReadOnlyMemory<char>> PiecesA { get; } = new(64);
        public List<ReadOnlyMemory<char>> PiecesB { get; } = new(64);
        public List<(int Start, int End)> Matches { get; } = new(64);
    }
}
