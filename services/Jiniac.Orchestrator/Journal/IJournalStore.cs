namespace Jiniac.Orchestrator.Journal;

/// <summary>
/// Where a run's journal is kept: a file per run in the embedded topology, Redis in the distributed one (every silo
/// must see the same log, and a run's journal grain may come back on another machine).
/// </summary>
public interface IJournalStore
{
    /// <summary>The run's records, dense from sequence 0.</summary>
    Task<List<JournalRecord>> LoadAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="record"/> as sequence <see cref="JournalRecord.Sequence"/> and returns the sequence it
    /// holds. When a record with the same <see cref="JournalRecord.Key"/> is already there (a retry of an append that
    /// landed) nothing is written and that record's sequence comes back. Throws <see cref="JournalConflictException"/>
    /// when the log is not <see cref="JournalRecord.Sequence"/> long: another writer appended, the caller must reload.
    /// </summary>
    Task<long> AppendAsync(string runId, JournalRecord record, CancellationToken cancellationToken);
}

/// <summary>The journal grew under a writer that thought it was the only one (two activations during a silo failover).</summary>
public sealed class JournalConflictException(string runId, long expected, long actual)
    : Exception($"journal of run '{runId}': expected to append sequence {expected}, but the log holds {actual} records");
