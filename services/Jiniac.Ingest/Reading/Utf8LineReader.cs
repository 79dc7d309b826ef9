using System.Buffers;

namespace Jiniac.Ingest.Reading;

/// <summary>
/// Reads '\n'-terminated lines of raw bytes from a stream with one pooled buffer, so invalid UTF-8 can
/// be seen (a StreamReader would silently replace it) and memory stays bounded: a line longer than
/// the limit is skipped to its end and reported as too long, with only its first bytes kept.
/// </summary>
internal sealed class Utf8LineReader : IDisposable
{
    private const int InitialBuffer = 64 * 1024;
    private const int LongLinePrefix = 1024;

    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _scanFrom;
    private bool _eof;
    private int _lineStart;
    private int _lineLength;
    private byte[]? _longPrefix;
    private int _longPrefixLength;

    public Utf8LineReader(Stream stream, int maxLineBytes)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBuffer, maxLineBytes + 1));
    }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>False only for a last line that ended at the end of the stream without '\n'.</summary>
    public bool Terminated { get; private set; }

    /// <summary>The line was longer than the limit; <see cref="Line"/> holds only its first bytes.</summary>
    public bool TooLong { get; private set; }

    /// <summary>Bytes of the line without its '\n' (or "\r\n"); valid until the next read.</summary>
    public ReadOnlyMemory<byte> Line => TooLong ? _longPrefix.AsMemory(0, _longPrefixLength) : _buffer.AsMemory(_lineStart, _lineLength);

    /// <summary>Bytes consumed from the stream so far.</summary>
    public long BytesRead { get; private set; }

    public async ValueTask<bool> ReadLineAsync(CancellationToken cancellationToken)
    {
        var skipping = false;
        while (true)
        {
            var newline = _buffer.AsSpan(_scanFrom, _end - _scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var lineEnd = _scanFrom + newline;
                SetLine(_start, lineEnd, terminated: true, skipping);
                _start = lineEnd + 1;
                _scanFrom = _start;
                return true;
            }

            _scanFrom = _end;
            if (_eof)
            {
                if (_start < _end || skipping)
                {
                    SetLine(_start, _end, terminated: false, skipping);
                    _start = _end;
                    return true;
                }

                return false;
            }

            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _scanFrom -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                if (skipping || _buffer.Length > _maxLineBytes)
                {
                    // Over the limit: keep the first bytes for the quarantine record, drop the rest.
                    if (!skipping)
                    {
                        _longPrefix ??= new byte[LongLinePrefix];
                        _longPrefixLength = Math.Min(LongLinePrefix, _end);
                        _buffer.AsSpan(0, _longPrefixLength).CopyTo(_longPrefix);
                        skipping = true;
                    }

                    _end = 0;
                    _scanFrom = 0;
                }
                else
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, (long)_maxLineBytes + 1));
                    _buffer.AsSpan(0, _end).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = bigger;
                }
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                _eof = true;
            }
            else
            {
                _end += read;
                BytesRead += read;
            }
        }
    }

    private void SetLine(int start, int end, bool terminated, bool tooLong)
    {
        LineNumber++;
        Terminated = terminated;
        TooLong = tooLong;
        if (!tooLong && end > start && _buffer[end - 1] == (byte)'\r')
        {
            end--;
        }

        _lineStart = start;
        _lineLength = end - start;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
