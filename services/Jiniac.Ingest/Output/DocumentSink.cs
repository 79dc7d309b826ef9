using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts.Pipeline;
using Jiniac.Ingest.Text;

namespace Jiniac.Ingest.Output;

/// <summary>Drop rules (the keys of the report's "dropped" counts): not errors, so not quarantined.</summary>
public static class DropReasons
{
    /// <summary>Nothing left after cleaning (e.g. an HTML page that is all navigation).</summary>
    public const string Empty = "empty";

    /// <summary>Fewer than MinChars characters after cleaning.</summary>
    public const string TooShort = "too_short";
}

/// <summary>
/// What happens to a document once read: cleaned, filtered, de-duplicated by the SHA-256 of its
/// cleaned text (first occurrence kept), assigned to train or eval by that hash, and written to the
/// split's shards.
/// </summary>
/// <remarks>
/// The eval rule is "(first 8 bytes of the SHA-256, big-endian) / 2^64 &lt; EvalFraction", stable across
/// runs and machines. So that a small source still gets both splits, the train document with the
/// smallest hash and the eval document with the largest are held back until the end: if the rule
/// gave eval nothing, the held train document goes to eval; if it gave train nothing, the held eval
/// document goes to train (a one-document source trains on it). Holding one document each keeps
/// memory bounded and the outcome deterministic.
/// </remarks>
internal sealed class DocumentSink(SourceSpec spec, ShardWriter train, ShardWriter eval)
{
    private const double TwoTo64 = 18446744073709551616.0;

    // 128 bits of the SHA-256 are plenty to tell documents apart (collisions ~2^-64 at 2^32 documents) at half the memory.
    private readonly HashSet<UInt128> _seen = [];
    private readonly SortedDictionary<string, long> _dropped = new(StringComparer.Ordinal);
    private byte[] _utf8 = new byte[16 * 1024];
    private Held? _minTrain;
    private Held? _maxEval;

    public long Duplicates { get; private set; }

    public IReadOnlyDictionary<string, long> Dropped => _dropped;

    public long DroppedTotal { get; private set; }

    public async ValueTask AcceptAsync(string id, string text, bool cleaned, CancellationToken cancellationToken)
    {
        if (!cleaned)
        {
            text = TextCleaner.Clean(text);
        }

        if (text.Length == 0)
        {
            Drop(DropReasons.Empty);
            return;
        }

        if (TextCleaner.CountChars(text) < spec.MinChars)
        {
            Drop(DropReasons.TooShort);
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
        if (!_seen.Add(key))
        {
            Duplicates++;
            return;
        }

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

    private void Drop(string reason)
    {
        _dropped[reason] = _dropped.GetValueOrDefault(reason) + 1;
        DroppedTotal++;
    }

    private sealed record Held(string Id, byte[] Utf8, UInt128 Key);
}
