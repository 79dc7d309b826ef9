using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts.Pipeline;
using Jiniac.Ingest.Cleaning;
using Jiniac.Ingest.Dedup;
using Jiniac.Ingest.Text;

namespace Jiniac.Ingest.Output;

/// <summary>Drop rules (the keys of the report's "dropped" counts): not errors, so not quarantined.</summary>
public static class DropReasons
{
    /// <summary>Nothing left after cleaning (e.g. an HTML page that is all navigation).</summary>
    public const string Empty = "empty";

    /// <summary>Fewer than MinChars characters after cleaning.</summary>
    public const string TooShort = "too_short";

    /// <summary>More than cleaning.max_chars characters after cleaning.</summary>
    public const string TooLong = "too_long";

    /// <summary>Not one of cleaning.languages.</summary>
    public const string Language = "language";

    public const string JapaneseRatio = "japanese_ratio";
    public const string SymbolRatio = "symbol_ratio";
    public const string DigitRatio = "digit_ratio";
    // The repetition rules are named as datatrove names them (RepetitionFilter.RuleNames).
}

/// <summary>
/// What happens to a document once read: cleaned (NFKC, boilerplate lines, URL/e-mail stripping, PII
/// redaction, whitespace), filtered (length, language, character classes, Gopher repetition),
/// de-duplicated across the stage by the SHA-256 of its cleaned text and by MinHash LSH (first occurrence
/// in stage order kept, see <see cref="DedupIndex"/>), assigned to train or eval by that hash, and
/// written to the split's shards. Every rule is counted.
/// </summary>
/// <remarks>
/// The eval rule is "(first 8 bytes of the SHA-256, big-endian) / 2^64 &lt; EvalFraction", stable across
/// runs and machines. So that a small source still gets both splits, the train document with the
/// smallest hash and the eval document with the largest are held back until the end: if the rule
/// gave eval nothing, the held train document goes to eval; if it gave train nothing, the held eval
/// document goes to train (a one-document source trains on it). Holding one document each keeps
/// memory bounded and the outcome deterministic.
/// </remarks>
internal sealed class DocumentSink(SourceSpec spec, ShardWriter train, ShardWriter eval, DedupIndex index)
{
    private const double TwoTo64 = 18446744073709551616.0;

    // 128 bits of the SHA-256 are plenty to tell documents apart (collisions ~2^-64 at 2^32 documents) at half the memory.
    private readonly SortedDictionary<string, long> _dropped = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _pii = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _modified = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _languages = new(StringComparer.Ordinal);
    private readonly PiiRedactor? _redactor = spec.Pii.Redact && spec.Pii.Kinds.Count > 0 ? new PiiRedactor(spec.Pii.Kinds) : null;
    private readonly RepetitionFilter _repetition = new();
    private readonly MinHasher? _minHash = spec.Dedup.Near ? new MinHasher(spec.Dedup.Shingle, spec.Dedup.Bands, spec.Dedup.Rows) : null;
    private readonly ulong[] _bandKeys = new ulong[spec.Dedup.Near ? spec.Dedup.Bands : 0];
    private ulong[] _tokens = new ulong[1024];
    private int[] _tokenChars = new int[1024];
    private byte[] _utf8 = new byte[16 * 1024];
    private Held? _minTrain;
    private Held? _maxEval;

    /// <summary>Exact duplicates (same cleaned text as a document kept earlier in the stage).</summary>
    public long Duplicates { get; private set; }

    /// <summary>Near duplicates (MinHash LSH: shares a band with a document kept earlier in the stage).</summary>
    public long NearDuplicates { get; private set; }

    /// <summary>Documents handed to the sink.</summary>
    public long Accepted { get; private set; }

    public IReadOnlyDictionary<string, long> Dropped => _dropped;

    /// <summary>PII replaced, by kind (<see cref="PiiKinds"/>).</summary>
    public IReadOnlyDictionary<string, long> PiiHits => _pii;

    /// <summary>What the rewriting rules changed: lines removed, URLs/e-mails stripped, documents whose whitespace changed.</summary>
    public IReadOnlyDictionary<string, long> Modified => _modified;

    /// <summary>Kept documents by language (script statistics).</summary>
    public IReadOnlyDictionary<string, long> Languages => _languages;

    public long DroppedTotal { get; private set; }

    public async ValueTask AcceptAsync(string id, string text, bool cleaned, CancellationToken cancellationToken)
    {
        Accepted++;
        if (!cleaned)
        {
            text = TextCleaner.Clean(text);
        }

        text = Rewrite(text);
        if (text.Length == 0)
        {
            Drop(DropReasons.Empty);
            return;
        }

        var chars = TextCleaner.CountChars(text);
        if (chars < spec.MinChars)
        {
            Drop(DropReasons.TooShort);
            return;
        }

        var rules = spec.Cleaning;
        if (rules.MaxChars > 0 && chars > rules.MaxChars)
        {
            Drop(DropReasons.TooLong);
            return;
        }

        var stats = ScriptStats.Of(text);
        var language = stats.Language;
        if (rules.Languages.Count > 0 && !rules.Languages.Contains(language))
        {
            Drop(DropReasons.Language);
            return;
        }

        if (rules.MinJapaneseRatio > 0 && stats.JapaneseRatio < rules.MinJapaneseRatio)
        {
            Drop(DropReasons.JapaneseRatio);
            return;
        }

        if (stats.SymbolRatio > rules.MaxSymbolRatio)
        {
            Drop(DropReasons.SymbolRatio);
            return;
        }

        if (stats.DigitRatio > rules.MaxDigitRatio)
        {
            Drop(DropReasons.DigitRatio);
            return;
        }

        var tokenCount = 0;
        if (rules.Repetition || _minHash is not null)
        {
            tokenCount = ScriptTokens.Hash(text, ref _tokens, ref _tokenChars);
        }

        if (rules.Repetition && _repetition.Check(text, _tokens.AsSpan(0, tokenCount), _tokenChars.AsSpan(0, tokenCount)) is { } failed)
        {
            Drop(failed);
            return;
        }

        if (Encoding.UTF8.GetMaxByteCount(text.Length) > _utf8.Length)
        {
            var needed = Encoding.UTF8.GetByteCount(text);
            if (needed > _utf8.Length)
            {
                _utf8 = new byte[Math.Max(needed, _utf8.Length * 2)];
            }
        }

        var length = Encoding.UTF8.GetBytes(text, _utf8);
        var utf8 = _utf8.AsMemory(0, length);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8.Span, hash);
        var key = BinaryPrimitives.ReadUInt128BigEndian(hash);
        if (spec.Dedup.Exact && index.ContainsExact(key))
        {
            Duplicates++;
            return;
        }

        if (_minHash is not null)
        {
            _minHash.BandKeys(_tokens.AsSpan(0, tokenCount), _bandKeys);
            if (index.ContainsAnyBand(_bandKeys))
            {
                NearDuplicates++;
                return;
            }
        }

        index.Add(key, _bandKeys);
        Count(_languages, language, 1);

        var rank = BinaryPrimitives.ReadUInt64BigEndian(hash);
        var toEval = rank / TwoTo64 < spec.EvalFraction;
        if (spec.EvalFraction <= 0)
        {
            await train.AddAsync(id, utf8, cancellationToken);
        }
        else if (!toEval)
        {
            if (_minTrain is null)
            {
                _minTrain = new Held(id, utf8.ToArray(), key);
            }
            else if (key < _minTrain.Key)
            {
                var previous = _minTrain;
                _minTrain = new Held(id, utf8.ToArray(), key);
                await train.AddAsync(previous.Id, previous.Utf8, cancellationToken);
            }
            else
            {
                await train.AddAsync(id, utf8, cancellationToken);
            }
        }
        else
        {
            if (_maxEval is null)
            {
                _maxEval = new Held(id, utf8.ToArray(), key);
            }
            else if (key > _maxEval.Key)
            {
                var previous = _maxEval;
                _maxEval = new Held(id, utf8.ToArray(), key);
                await eval.AddAsync(previous.Id, previous.Utf8, cancellationToken);
            }
            else
            {
                await eval.AddAsync(id, utf8, cancellationToken);
            }
        }
    }

    /// <summary>Places the held documents (see remarks) and stores the last shards.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        var minTrain = _minTrain;
        var maxEval = _maxEval;
        _minTrain = null;
        _maxEval = null;
        if (minTrain is not null)
        {
            var target = maxEval is null && eval.Records == 0 && train.Records > 0 ? eval : train;
            await target.AddAsync(minTrain.Id, minTrain.Utf8, cancellationToken);
        }

        if (maxEval is not null)
        {
            var target = minTrain is null && train.Records == 0 ? train : eval;
            await target.AddAsync(maxEval.Id, maxEval.Utf8, cancellationToken);
        }

        await train.CompleteAsync(cancellationToken);
        await eval.CompleteAsync(cancellationToken);
    }

    // The rules that rewrite text rather than drop it, each counted; the result is tidied again
    // (a removed line must not leave a run of blank lines behind).
    private string Rewrite(string text)
    {
        var rules = spec.Cleaning;
        var before = text;
        if (rules.Boilerplate)
        {
            text = BoilerplateLines.Remove(text, out var lines);
            Count(_modified, "boilerplate_lines", lines);
        }

        if (rules.StripUrls)
        {
            text = TextRules.StripUrls(text, out var urls);
            Count(_modified, "urls", urls);
        }

        if (rules.StripEmails)
        {
            text = TextRules.StripEmails(text, out var emails);
            Count(_modified, "emails", emails);
        }

        if (_redactor is not null)
        {
            text = _redactor.Redact(text);
            Count(_pii, PiiKinds.Email, _redactor.Emails);
            Count(_pii, PiiKinds.Phone, _redactor.Phones);
            Count(_pii, PiiKinds.MyNumber, _redactor.MyNumbers);
            Count(_pii, PiiKinds.Card, _redactor.Cards);
            Count(_pii, PiiKinds.Ip, _redactor.Ips);
        }

        if (rules.Whitespace)
        {
            text = TextRules.NormalizeWhitespace(text, out var changed);
            Count(_modified, "whitespace_documents", changed ? 1 : 0);
        }

        return ReferenceEquals(text, before) ? text : TextCleaner.Tidy(text);
    }

    private static void Count(SortedDictionary<string, long> counts, string key, long by)
    {
        if (by > 0)
        {
            counts[key] = counts.GetValueOrDefault(key) + by;
        }
    }

    private void Drop(string reason)
    {
        _dropped[reason] = _dropped.GetValueOrDefault(reason) + 1;
        DroppedTotal++;
    }

    private sealed record Held(string Id, byte[] Utf8, UInt128 Key);
}
