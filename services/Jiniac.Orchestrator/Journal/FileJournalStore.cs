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
}

/// <summary>
/// The embedded journal: one append-only JSON Lines file per run, each line flushed to disk before
/// the append returns. A torn last line (crash mid-write) is ignored on load.
/// </summary>
public sealed class FileJournalStore(string root)
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
                // Only the last line can be torn (appends are sequential); stop there.
                break;
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

        await using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(builder.ToString()), cancellationToken);
        stream.Flush(flushToDisk: true);
    }

    private string PathOf(string runId) => Path.Combine(root, Hosting.SafeName.Check(runId, "run id") + ".jsonl");
}
