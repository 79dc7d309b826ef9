using Jiniac.Orchestrator.Journal;

namespace Jiniac.Orchestrator.Grains;

/// <summary>
/// The single writer of a run's journal: it assigns sequence numbers, so cursors are dense and stable. Every record
/// carries a key; an append whose key is already in the log (an event redelivered after a crash, a call retried after
/// a timeout) returns the sequence it got the first time instead of writing it again.
/// </summary>
public sealed class JournalGrain(IJournalStore store, TimeProvider time) : Grain, IJournalGrain
{
    private List<JournalRecord> _records = [];
    private readonly Dictionary<string, long> _keys = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken) => await ReloadAsync(cancellationToken);

    public Task<long> AppendAsync(string type, string? stage, string json) => AppendOnceAsync(Guid.NewGuid().ToString("n"), type, stage, json);

    public async Task<long> AppendOnceAsync(string key, string type, string? stage, string json)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_keys.TryGetValue(key, out var known))
            {
                return known;
            }

            var record = new JournalRecord
            {
                Sequence = _records.Count,
                Timestamp = time.GetUtcNow(),
                Type = type,
                Stage = stage,
                Json = json,
                Key = key,
            };
            try
            {
                var sequence = await store.AppendAsync(this.GetPrimaryKeyString(), record, CancellationToken.None);
                if (sequence == record.Sequence)
                {
                    Add(record);
                    await NotifySinksAsync();
                    return sequence;
                }
            }
            catch (JournalConflictException) when (attempt < 3)
            {
                // Another activation appended while this one was cut off from the cluster: read what it wrote, go on from there.
            }

            // Behind the store: an earlier try of this append landed, or another writer's did. Catch up, then look again.
            await ReloadAsync(CancellationToken.None);
        }
    }

    public async Task AppendManyOnceAsync(IReadOnlyList<JournalAppend> appends)
    {
        var fresh = new List<JournalRecord>(appends.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var now = time.GetUtcNow();
        foreach (var a in appends)
        {
            if (!_keys.ContainsKey(a.Key) && seen.Add(a.Key))
            {
                fresh.Add(new JournalRecord { Sequence = _records.Count + fresh.Count, Timestamp = now, Type = a.Type, Stage = a.Stage, Json = a.Json, Key = a.Key });
            }
        }

        if (fresh.Count == 0)
        {
            return;
        }

        try
        {
            await store.AppendManyAsync(this.GetPrimaryKeyString(), fresh, CancellationToken.None);
            foreach (var record in fresh)
            {
                Add(record);
            }

            await NotifySinksAsync();
        }
        catch (JournalConflictException)
        {
            // Someone else's records (or an earlier try of some of these) are in the way: one by one, each checked against the log.
            await ReloadAsync(CancellationToken.None);
            foreach (var record in fresh)
            {
                await AppendOnceAsync(record.Key!, record.Type, record.Stage, record.Json);
            }
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        _records = await store.LoadAsync(this.GetPrimaryKeyString(), cancellationToken);
        _keys.Clear();
        foreach (var record in _records)
        {
            if (record.Key is not null)
            {
                _keys.TryAdd(record.Key, record.Sequence);
            }
        }
    }

    // One-way: the run's sinks catch up on their own timers; an append never waits for a receiver.
    private Task NotifySinksAsync() => GrainFactory.GetGrain<Integrations.IRunSinksGrain>(this.GetPrimaryKeyString()).NotifyAsync();

    private void Add(JournalRecord record)
    {
        _records.Add(record);
        _keys[record.Key!] = record.Sequence;
    }

    public Task<IReadOnlyList<JournalEntryView>> ReadAsync(long from, int max)
    {
        var result = new List<JournalEntryView>();
        for (var i = Math.Max(0, from); i < _records.Count && result.Count < max; i++)
        {
            var r = _records[(int)i];
            result.Add(new JournalEntryView(r.Sequence, r.Timestamp, r.Type, r.Stage, r.Json));
        }

        return Task.FromResult<IReadOnlyList<JournalEntryView>>(result);
    }

    public Task<long> CountAsync() => Task.FromResult((long)_records.Count);
}

public sealed class RunRegistryGrain([PersistentState("registry", OrchestratorStorage.Name)] IPersistentState<RegistryState> state) : Grain, IRunRegistryGrain
{
    public async Task AddAsync(string runId)
    {
        if (!state.State.Runs.Contains(runId))
        {
            state.State.Runs.Add(runId);
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Runs]);
}

public sealed class CheckpointGrain([PersistentState("checkpoint", OrchestratorStorage.Name)] IPersistentState<CheckpointState> state) : Grain, ICheckpointGrain
{
    public async Task RecordSavedAsync(Contracts.CheckpointSaved message)
    {
        // A redelivery changes nothing; the same step written anew after a rollback (other loss) replaces the record.
        if (state.State.Folder is not null && state.State.Loss.Equals(message.Loss) && state.State.Tokens == message.Tokens)
        {
            // Registered from TrainingCompleted's list before its own event came: that event adds the size.
            if (state.State.Bytes == 0 && message.Bytes > 0)
            {
                state.State.Bytes = message.Bytes;
                await state.WriteStateAsync();
            }

            return;
        }

        if (state.State.Folder is not null)
        {
            state.State.Evaluation = null;
        }

        state.State.RunId = message.RunId;
        state.State.Stage = message.Stage;
        state.State.Step = message.Step;
        state.State.Tokens = message.Tokens;
        state.State.Loss = message.Loss;
        state.State.Folder = message.Folder;
        state.State.Bytes = message.Bytes;
        await state.WriteStateAsync();
    }

    public async Task RecordEvaluationAsync(Contracts.EvaluationCompleted message)
    {
        if (state.State.Evaluation is { } known && known.SequenceEqual(message.Results))
        {
            return;
        }

        state.State.Evaluation = [.. message.Results];
        await state.WriteStateAsync();
    }

    public async Task RecordPublishedAsync(Contracts.ModelPublished message)
    {
        if (state.State.Published?.Revision != message.Revision)
        {
            state.State.Published = message;
            await state.WriteStateAsync();
        }
    }

    public Task<CheckpointState> GetAsync() => Task.FromResult(state.State);
}

public static class OrchestratorStorage
{
    public const string Name = "jiniac";
}
