using System.Buffers.Binary;

namespace Jiniac.Ingest.Reading;

/// <summary>The gzip trailer (RFC 1952 §2.3.1): CRC-32 and size mod 2^32 of the uncompressed data, last 8 bytes of the file.</summary>
internal static class GzipTrailer
{
    /// <summary>
    /// True when the input's last 8 bytes (<paramref name="tail"/>, of an input of <paramref name="size"/> bytes) are
    /// the CRC-32 and length of <paramref name="crc"/>/<paramref name="length"/>.
    /// A truncated file ends in compressed data instead, so this fails (odds of a chance match: 2^-64).
    /// Concatenated multi-member files carry only their last member's trailer there and also fail: they
    /// are rare for .jsonl.gz and are reported, never dropped (what was read is kept either way).
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> tail, long size, uint crc, long length)
    {
        if (size < 18 || tail.Length != 8)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(tail) == crc
            && BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]) == unchecked((uint)length);
    }
}
