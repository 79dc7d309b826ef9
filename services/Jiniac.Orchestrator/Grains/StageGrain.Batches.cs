using Jiniac.Contracts;
using Jiniac.Orchestrator.Journal;

namespace Jiniac.Orchestrator.Grains;

// Shard events come by the hundred thousand. The shard table lives in the stage's shard log (Journal.IShardLogStore),
// not in its grain state: a consumed batch of shard events is one append of the shards it changed (durable before
// anything is sent onward or acknowledged), and the state, written whole, stays a few kilobytes however many shards
// the stage has. The table is rebuilt from the log when the grain activates.
public sealed partial class StageGrain
{
    private const int SendWindow = 256;

    private readonly Dictionary<string, StageShard> _shards = new(StringComparer.Ordinal);

    /// <summary>The held-out sets, built from the table once it is prepared; null when the table changed since.</summary>
    private List<EvalSet>? _evalSets;

    private Dictionary<string, StageShard> Shards => _shards;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (runId, stage) = KeyParts();
        foreach (var record in await shardLog.LoadAsync(runId, stage, cancellationToken))
        {
            ShardLog.Apply(_shards, record);
        }

        if (S.Shards.Count > 0)
        {
            // A state written before the shard log: its table moves to the log (durable first), then leaves the state.
            var legacy = S.Shards.Values.ToList();
            await shardLog.AppendAsync(runId, stage, legacy, cancellationToken);
            foreach (var record in legacy)
            {
                ShardLog.Apply(_shards, record);
            }

            S.Shards = [];
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task OnShardsIngestedAsync(IReadOnlyList<ShardIngested> messages)
    {
        if (S.Context is null || S.Status != StageStatus.Preparing)
        {
            return;
        }

        var added = new List<StageShard>();
        foreach (var message in messages)
        {
            if (AddShard(message.Source, message.Shard))
            {
                added.Add(Shards[message.Shard.ShardKey]);
            }
        }

        if (added.Count == 0)
        {
            return;
        }

        // Only the log is written: nothing in the state changed (LastActivity is kept in memory; a restart re-issues early, harmlessly).
        await AppendShardsAsync(added);
        if (Context.Tokenizer is not null)
        {
            await SendTokenizeAllAsync(added);
        }
    }

    public async Task OnShardsTokenizedAsync(IReadOnlyList<ShardsTokenized> messages)
    {
        var changed = new List<StageShard>();
        foreach (var message in messages)
        {
            if (S.Context?.Tokenizer?.Hash != message.TokenizerHash)
            {
                continue;
            }

            foreach (var tokenized in message.Shards)
            {
                if (!Shards.TryGetValue(tokenized.ShardKey, out var shard) || shard.Prefix is not null)
                {
                    continue;
                }

                shard.Prefix = tokenized.Prefix;
                shard.Documents = tokenized.Documents;
                shard.Tokens = tokenized.Tokens;
                shard.Error = null;
                changed.Add(shard);
            }
        }

        if (changed.Count == 0)
        {
            return;
        }

        await AppendShardsAsync(changed);
        await CheckReadyAsync();
    }

    public Task<IReadOnlyList<StageShard>> GetShardsAsync() =>
        Task.FromResult<IReadOnlyList<StageShard>>([.. Shards.Values.OrderBy(s => s.Key, StringComparer.Ordinal)]);

    /// <summary>
    /// The shards go out in <see cref="TokenizeShards"/> commands of up to <see cref="OrchestratorOptions.TokenizeBatchShards"/>
    /// shards and <see cref="OrchestratorOptions.TokenizeBatchBytes"/> bytes of text each (a shard at or above the budget goes
    /// alone): on a broker each command is a persistent publish, a confirm, a delivery and an ack, and for a stage of many
    /// small shards those were most of the work. Each send waits for the broker's confirm: up to <see cref="SendWindow"/> side
    /// by side, not one after another. The tokenizers take the commands in any order.
    /// </summary>
    private async Task SendTokenizeAllAsync(IReadOnlyList<StageShard> shards)
    {
        var pending = new List<Task>();
        foreach (var group in TokenizeGroups(shards, options.Value.TokenizeBatchShards, options.Value.TokenizeBatchBytes))
        {
            pending.Add(SendTokenizeAsync(group));
            if (pending.Count == SendWindow)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    /// <summary>Consecutive runs of <paramref name="shards"/>, each within both budgets or a single shard.</summary>
    internal static IEnumerable<IReadOnlyList<StageShard>> TokenizeGroups(IReadOnlyList<StageShard> shards, int maxShards, long maxBytes)
    {
        var group = new List<StageShard>();
        long bytes = 0;
        foreach (var shard in shards)
        {
            if (group.Count > 0 && (group.Count >= maxShards || bytes + shard.TextBytes > maxBytes))
            {
                yield return group;
                group = [];
                bytes = 0;
            }

            group.Add(shard);
            bytes += shard.TextBytes;
        }

        if (group.Count > 0)
        {
            yield return group;
        }
    }

    private Task AppendShardsAsync(IReadOnlyList<StageShard> shards)
    {
        S.LastActivity = time.GetUtcNow();
        _evalSets = null;
        var (runId, stage) = KeyParts();
        return shardLog.AppendAsync(runId, stage, shards, default);
    }

    /// <summary>The grain key is "run/stage" (GrainKeys.Stage); known before the stage is prepared.</summary>
    private (string RunId, string Stage) KeyParts()
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (key[..slash], key[(slash + 1)..]);
    }
}
