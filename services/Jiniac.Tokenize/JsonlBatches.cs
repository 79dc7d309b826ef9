using System.Text.Json;

namespace Jiniac.Tokenize;

/// <summary>A run of whole JSON lines in one buffer, with the 1-based line number of each.</summary>
internal sealed class JsonlBatch
{
    public byte[] Buffer { get; set; } = [];
    public List<(int Offset, int Length, long LineNumber)> Lines { get; } = [];
    public long Bytes { get; set; }
}

/// <summary>
/// Cuts a stream of JSON Lines into batches of whole lines (about <c>batchBytes</c> each) and reads one
/// field of each line. Blank lines are skipped; a line that is not a JSON object with a string field is an error naming the line.
/// </summary>
internal static class JsonlBatches
{
    public static async IAsyncEnumerable<JsonlBatch> ReadAsync(Stream input, int batchBytes, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[batchBytes];
        var filled = 0;
        long lineNumber = 0;
        var eof = false;
        while (!eof || filled > 0)
        {
            while (!eof && filled < buffer.Length)
            {
                var n = await input.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                if (n == 0)
                {
                    eof = true;
                }

                filled += n;
            }

            var end = eof ? filled : buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
            if (end == 0)
            {
                // One line longer than the buffer: grow and read on.
                Array.Resize(ref buffer, buffer.Length * 2);
                continue;
            }

            var batch = new JsonlBatch { Buffer = buffer, Bytes = end };
            var start = 0;
            while (start < end)
            {
                var nl = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                var lineEnd = nl < 0 ? end : start + nl;
                lineNumber++;
                var length = lineEnd - start;
                if (length > 0 && buffer[lineEnd - 1] == (byte)'\r')
                {
                    length--;
                }

                if (!buffer.AsSpan(start, length).Trim(" \t"u8).IsEmpty)
                {
                    batch.Lines.Add((start, length, lineNumber));
                }

                start = lineEnd + 1;
            }

            var leftover = filled - end;
            var next = new byte[Math.Max(batchBytes, leftover * 2)];
            buffer.AsSpan(end, leftover).CopyTo(next);
            buffer = next;
            filled = leftover;
            yield return batch;
        }
    }

    /// <summary>The string value of top-level field <paramref name="key"/> of a JSON object line.</summary>
    /// <exception cref="InvalidDataException">the line is not such an object.</exception>
    public static string ReadField(ReadOnlySpan<byte> line, string key, string source, long lineNumber)
    {
        try
        {
            return ReadFieldCore(line, key, source, lineNumber);
        }
        catch (InvalidDataException e)
        {
            e.Data["line"] = lineNumber;
            throw;
        }
    }

    private static string ReadFieldCore(ReadOnlySpan<byte> line, string key, string source, long lineNumber)
    {
        try
        {
            var reader = new Utf8JsonReader(line, isFinalBlock: true, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"{source}: line {lineNumber}: not a JSON object");
            }

            string? value = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isKey = reader.ValueTextEquals(key);
                reader.Read();
                if (isKey && reader.TokenType == JsonTokenType.String)
                {
                    value = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            // Reading past the object makes the reader reject trailing garbage.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new InvalidDataException($"{source}: line {lineNumber}: not a single JSON object");
            }

            return value ?? throw new InvalidDataException($"{source}: line {lineNumber}: no string field \"{key}\"");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: line {lineNumber}: invalid JSON ({e.Message})", e);
        }
    }
}
