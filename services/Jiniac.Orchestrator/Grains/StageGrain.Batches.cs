using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Grains;

// Shard events come by the hundred thousand: a stage applies a consumed batch of them as it would apply each one,
// but writes its state once for the batch (before anything is sent onward), since each write is the whole state.
public sealed partial class StageGrain
{
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
                added.Add(S.Shards[message.Shard.ShardKey]);
            }
        }

        if (added.Count == 0)
        {
            return;
        }

        await SaveAsync();
        if (Context.Tokenizer is not null)
        {
            foreach (var shard in added)
            {
                await SendTokenizeAsync(shard);
            }
        }
    }

    public async Task OnShardsTokenizedAsync(IReadOnlyList<ShardTokenized> messages)
    {
        var changed = false;
        foreach (var message in messages)
        {
            if (S.Context?.Tokenizer?.Hash != message.TokenizerHash
                || !S.Shards.TryGetValue(message.ShardKey, out var shard)
                || shard.Prefix is not null)
            {
                continue;
            }

            shard.Prefix = message.Prefix;
            shard.Documents = message.Documents;
            shard.Tokens = message.Tokens;
            shard.Error = null;
            changed = true;
        }

        if (!changed)
        {
            return;
        }

        await SaveAsync();
        await CheckReadyAsync();
    }
}
