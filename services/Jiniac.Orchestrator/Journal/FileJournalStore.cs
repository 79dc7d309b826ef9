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
    public async Task<List<JournalRecord>> LoadAsync(string runId, CancellationToken cancellationToken)
    {
        var records = new List<JournalRecord>();
        await foreach (var record in JsonLinesFile.ReadAsync<JournalRecord>(PathOf(runId), cancellationToken))
        {
            // Past a torn line the log goes on whole; the sequence check keeps it dense.
            if (record.Sequence == records.Count)
            {
                records.Add(record);
            }
        }

        return records;
    }

    public Task AppendAsync(string runId, IReadOnlyList<JournalRecord> records, CancellationToken cancellationToken)
    {
        var path = PathOf(runId);
        return JsonLinesFile.AppendAsync(path, records, cancellationToken);
    }

    /// <summary>The embedded host is the journal's only process and its grain the only writer: the grain's own check is enough.</summary>
    async Task<long> IJournalStore.AppendAsync(string runId, JournalRecord record, CancellationToken cancellationToken)
    {
        await AppendAsync(runId, [record], cancellationToken);
        return record.Sequence;
    }

    /// <summary>A batch of events is one write and one fsync: durable together before any of their messages is acknowledged.</summary>
    Task IJournalStore.AppendManyAsync(string runId, IReadOnlyList<JournalRecord> records, CancellationToken cancellationToken) =>
        AppendAsync(runId, records, cancellationToken);

    private string PathOf(string runId) => Path.Combine(root, Hosting.SafeName.Check(runId, "run id") + ".jsonl");
}
