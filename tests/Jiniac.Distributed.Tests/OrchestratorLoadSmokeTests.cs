using Jiniac.Bench;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// The orchestrator-load benchmark's bookkeeping at a size a test can afford (it asserts counts, never time): every
/// shard ingested and tokenized once, every checkpoint sent to evaluation once, and each event journalled once.
/// </summary>
public sealed class OrchestratorLoadSmokeTests
{
    [Fact]
    public async Task A_stage_of_1_200_tiny_shards_in_two_sources_is_counted_exactly_through_the_batched_bookkeeping()
    {
        var result = await OrchestratorLoadBench.MeasureAsync(new OrchestratorLoadBench.Settings { Shards = 1_200, Checkpoints = 5 }, CancellationToken.None);

        Assert.Equal(2, result.Sources);
        Assert.Equal(("Training", 1_200, 1_200, 0, 2), (result.Stage.Status, result.Stage.ShardsTotal, result.Stage.ShardsTokenized, result.Stage.ShardsFailed, result.Stage.SourcesDone));
        // Each shard asked for once, in commands of at most TokenizeBatchShards (256) shards each.
        Assert.Equal(1_200, result.TokenizedShards);
        Assert.InRange(result.TokenizeCommands, 5, 1_200);
        Assert.Equal(5, result.EvaluateCommands);
        Assert.Equal([1L, 2, 3, 4, 5], result.Stage.Checkpoints.Select(c => c.Step));
        // Every worker message once (1,200 ShardIngested + 2 SourceIngested + a ShardsTokenized per command + TokenizerReady
        // + TrainingStarted + 5 CheckpointSaved), beside the grains' own entries (status changes).
        Assert.InRange(result.JournalEntries, 1_209 + result.TokenizeCommands, 1_209 + result.TokenizeCommands + 20);
        Assert.Equal(1_200 + 2 + result.TokenizeCommands, result.Messages);
        Assert.Equal(2 * (1_200 + 2), result.Events);
    }
}
