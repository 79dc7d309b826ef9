using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Jiniac.Orchestrator.Journal;

/// <summary>Append-only JSON Lines files (the journal, the shard logs): each append one write and one fsync; a torn last line is skipped on read.</summary>
internal static class JsonLinesFile
{
    public static async IAsyncEnumerable<T> ReadAsync<T>(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            T? record;
            try
            {
                record = JsonSerializer.Deserialize<T>(line, OrchestratorJson.Options);
            }
            catch (JsonException)
            {
                // A line torn by a crash mid-append. The next append starts on a fresh line (see AppendAsync),
                // so what follows it is whole: skip just this line.
                continue;
            }

            if (record is not null)
            {
                yield return record;
            }
        }
    }

    /// <summary>Appends one line per record; durable (fsync) when it returns.</summary>
    public static async Task AppendAsync<T>(string path, IEnumerable<T> records, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var builder = new StringBuilder();
        foreach (var record in records)
        {
            builder.Append(JsonSerializer.Serialize(record, OrchestratorJson.Options)).Append('\n');
        }

        await using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (stream.Length > 0)
        {
            // A crash mid-append leaves a torn last line with no newline: end it, or this append's first
            // record would be glued onto it and lost (with it, every later record) on the next load.
            stream.Seek(-1, SeekOrigin.End);
            if (stream.ReadByte() != '\n')
            {
                builder.Insert(0, '\n');
            }
        }

        stream.Seek(0, SeekOrigin.End);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(builder.ToString()), cancellationToken);
        stream.Flush(flushToDisk: true);
    }
}
