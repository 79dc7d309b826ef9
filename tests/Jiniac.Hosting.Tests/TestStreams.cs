namespace Jiniac.Hosting.Tests;

/// <summary>
/// A read-only stream that hands out <c>first</c>, then signals <see cref="Midway"/> and waits for
/// <c>gate</c> before either handing out <c>rest</c> or throwing <c>failure</c>: lets a test look at the
/// store while a write is half done, without timing.
/// </summary>
internal sealed class GatedStream(byte[] first, byte[] rest, Task gate, Exception? failure = null) : Stream
{
    private readonly TaskCompletionSource _midway = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _part;
    private int _offset;

    public Task Midway => _midway.Task;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_part == 0)
        {
            var n = Copy(first, buffer);
            if (_offset == first.Length)
            {
                _part = 1;
                _offset = 0;
            }

            return n;
        }

        if (_part == 1)
        {
            _midway.TrySetResult();
            await gate.WaitAsync(cancellationToken);
            if (failure is not null)
            {
                throw failure;
            }

            _part = 2;
        }

        return Copy(rest, buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    private int Copy(byte[] source, Memory<byte> buffer)
    {
        var n = Math.Min(buffer.Length, source.Length - _offset);
        source.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A scratch folder for one test, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Root { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "jiniac-hosting-tests", Guid.NewGuid().ToString("N"))).FullName;

    public string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Every file below the root, relative and sorted.</summary>
    public string[] Files(string relative = "")
    {
        var dir = Path.Combine(Root, relative);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
        for (var i = 0; i < files.Length; i++)
        {
            files[i] = Path.GetRelativePath(Root, files[i]).Replace(Path.DirectorySeparatorChar, '/');
        }

        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test over it would hide the real result.
        }
    }
}
