using System.Buffers.Binary;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Ingest.Dedup;

/// <summary>
/// What a stage has already kept: the 128-bit content hashes (exact dedup) and the LSH band keys
/// (near dedup) of every kept document. A source adds its own keys and, when it is done, stores them
/// as a blob (<c>{outputPrefix}/dedup.bin</c>); a later source of the same stage loads the earlier
/// sources' blobs first, so a document that duplicates one of an earlier source is dropped.
/// </summary>
/// <remarks>
/// Why this shape: ingest is driven one <c>IngestSource</c> command per source. Rather than a new
/// stage-wide command or a shared mutable index (whose outcome would depend on which source ran
/// first), sources of a stage are ingested in pipeline order, each reading the stored, immutable
/// indexes of those before it. The kept representative of a duplicate group is therefore the first
/// in stage order (source order in the pipeline, then file order, then line order) — deterministic,
/// and decided while streaming, without holding documents back. Re-running a source re-reads the same
/// earlier indexes and writes the same bytes. Memory: 16 + 8 × bands bytes per kept document.
/// </remarks>
internal sealed class DedupIndex
{
    private const uint Magic = 0x4A444458; // "JDDX"
    private readonly HashSet<UInt128> _exact = [];
    private readonly HashSet<ulong> _bands = [];
    private readonly List<UInt128> _ownExact = [];
    private readonly List<ulong> _ownBands = [];

    public bool ContainsExact(UInt128 hash) => _exact.Contains(hash);

    public bool ContainsAnyBand(ReadOnlySpan<ulong> keys)
    {
        foreach (var key in keys)
        {
            if (_bands.Contains(key))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(UInt128 hash, ReadOnlySpan<ulong> keys)
    {
        if (_exact.Add(hash))
        {
            _ownExact.Add(hash);
        }

        foreach (var key in keys)
        {
            if (_bands.Add(key))
            {
                _ownBands.Add(key);
            }
        }
    }

    /// <summary>Stores this source's own keys (not the ones loaded from earlier sources).</summary>
    public async Task StoreAsync(IBlobStore blobs, string key, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var header = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(4), _ownExact.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), _ownBands.Count);
        buffer.Write(header);
        var item = new byte[16];
        foreach (var hash in _ownExact)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(item, hash);
            buffer.Write(item);
        }

        foreach (var band in _ownBands)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(item, band);
            buffer.Write(item.AsSpan(0, 8));
        }

        buffer.Position = 0;
        await blobs.PutAsync(key, buffer, cancellationToken);
    }

    /// <exception cref="SourceUnreadableException">the blob is missing or not an index.</exception>
    public async Task LoadAsync(IBlobStore blobs, string key, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            await using var stream = await blobs.OpenReadAsync(key, cancellationToken);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            bytes = copy.ToArray();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or KeyNotFoundException or IOException)
        {
            throw new SourceUnreadableException($"the dedup index of an earlier source of this stage, '{key}', cannot be read: {e.Message}");
        }

        if (bytes.Length < 20 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw new SourceUnreadableException($"'{key}' is not a dedup index");
        }

        var exact = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(4));
        var bands = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
        if (bytes.Length != 20 + exact * 16 + bands * 8)
        {
            throw new SourceUnreadableException($"the dedup index '{key}' is truncated");
        }

        var pos = 20;
        for (var i = 0L; i < exact; i++, pos += 16)
        {
            _exact.Add(BinaryPrimitives.ReadUInt128LittleEndian(bytes.AsSpan(pos)));
        }

        for (var i = 0L; i < bands; i++, pos += 8)
        {
            _bands.Add(BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos)));
        }
    }
}
