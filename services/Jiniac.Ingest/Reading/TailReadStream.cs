namespace Jiniac.Ingest.Reading;

/// <summary>
/// Passes reads through and keeps how many bytes went by and the last 8 of them: the gzip trailer of a
/// stream that cannot seek (a blob download), and the compressed offset of a zstd error.
/// </summary>
internal sealed class TailReadStream(Stream inner) : ObservingReadStream(inner)
{
    private readonly byte[] _tail = new byte[8];

    public long BytesRead { get; private set; }

    /// <summary>The last min(8, <see cref="BytesRead"/>) bytes read, in order.</summary>
    public ReadOnlySpan<byte> Tail => _tail.AsSpan(8 - (int)Math.Min(8, BytesRead));

    /// <summary>Reads what is left to the end (a decompressor may stop before its input's last bytes).</summary>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (await ReadAsync(buffer, cancellationToken) > 0)
        {
        }
    }

    protected override void Observe(ReadOnlySpan<byte> data)
    {
        BytesRead += data.Length;
        if (data.Length >= 8)
        {
            data[^8..].CopyTo(_tail);
        }
        else if (data.Length > 0)
        {
            // Shift the kept bytes left and append the new ones.
            _tail.AsSpan(data.Length).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(8 - data.Length));
        }
    }
}
