using System.IO.Hashing;

namespace Jiniac.Ingest.Reading;

/// <summary>
/// Passes reads through and keeps the CRC-32 and length of what went by. .NET's GZipStream ends
/// silently at a truncated input; comparing these with the gzip trailer is how truncation is seen.
/// </summary>
internal sealed class Crc32ReadStream(Stream inner) : Stream
{
    private readonly Crc32 _crc = new();

    public long BytesPassed { get; private set; }

    public uint Crc => _crc.GetCurrentHashAsUInt32();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Track(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Track(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Track(ReadOnlySpan<byte> data)
    {
        _crc.Append(data);
        BytesPassed += data.Length;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
