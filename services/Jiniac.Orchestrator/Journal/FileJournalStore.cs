using System.Text;
using System.Text.Json;

namespace Jiniac.Orchestrator.Journal;

/// <summary>A journal entry: the run's event log is a sequence of these, numbered from 0.</summary>
public sealed record JournalRecord
{
    public required long Sequence { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Type { get; init; }
    public string? Stage { get; init; }
    public required string Json { get; init; }

    /// <summary>What the writer de-duplicates on (an event's message id; a grain's own append id): a retried append with it is not a second record.</summary>
    public string? Key { get; init; }
}

/// <summary>
/// The embedded journal: one append-only JSON Lines file per run, each line flushed to disk before
/// the append returns. A torn last line (crash mid-write) is ignored on load.
/// </summary>
public sealed class FileJournalStore(string root) : IJournalStore
{
    private static readonly JsonSerializerOptions Json = OrchestratorJson.Options;

    public async Task<List<JournalRecord>> LoadAsync(string runId, CancellationToken cancellationToken)
    {
        var path = PathOf(runId);
        var records = new List<JournalRecord>();
        if (!File.Exists(path))
        {
            return records;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                var record = JsonSerializer.Deserialize<JournalRecord>(line, Json);
                if (record is not null && record.Sequence == records.Count)
                {
                    records.Add(record);
                }
            }
            catch (JsonException)
            {
                // A line torn by a crash mid-append. The next append starts on a fresh line (see AppendAsync),
                // so what follows it is whole: skip just this line; the sequence check keeps the log dense.
                continue;
            }
        }

        return records;
    }

    public async Task AppendAsync(string runId, IReadOnlyList<JournalRecord> records, CancellationToken cancellationToken)
    {
        var path = PathOf(runId);
        Directory.CreateDirectory(root);
        var builder = new StringBuilder();
        foreach (var record in records)
        {
            builder.Append(JsonSerializer.Serialize(record, Json)).Append('\n');
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

    /// <summary>The embedded host is the journal's only process and its grain the only writer: the grain's own check is enough.</summary>
    async Task<long> IJournalStore.AppendAsync(string runId, JournalRecord record, CancellationToken cancellationToken)
    {
        await AppendAsync(runId, [record], cancellationToken);
        return record.Sequence;
    }

    private string PathOf(string runId) => Path.Combine(root, Hosting.SafeName.Check(runId, "run id") + ".jsonl");
}
