using System.IO.Hashing;

namespace Jiniac.Ingest.Reading;

/// <summary>
/// Passes reads through and keeps the CRC-32 and length of what went by. .NET's GZipStream ends
/// silently at a truncated input; comparing these with the gzip trailer is how truncation is seen.
/// </summary>
internal sealed class Crc32ReadStream(Stream inner) : ObservingReadStream(inner)
{
    private readonly Crc32 _crc = new();

    public long BytesPassed { get; private set; }

    public uint Crc => _crc.GetCurrentHashAsUInt32();

    protected override void Observe(ReadOnlySpan<byte> data)
    {
        _crc.Append(data);
        BytesPassed += data.Length;
    }
}
