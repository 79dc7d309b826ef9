using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// How a stage's shards are put into TokenizeShards commands: consecutive runs within both budgets (shards and text
/// bytes), a shard at or above the byte budget alone, each shard in exactly one command, in the order given.
/// </summary>
public sealed class TokenizeGroupsTests
{
    private static List<StageShard> Shards(params long[] textBytes) =>
        [.. textBytes.Select((bytes, i) => new StageShard { Key = $"k{i}", Source = "s", Split = "train", Blob = $"b{i}", TextBytes = bytes })];

    private static List<List<string>> Groups(List<StageShard> shards, int maxShards, long maxBytes) =>
        [.. StageGrain.TokenizeGroups(shards, maxShards, maxBytes).Select(g => g.Select(s => s.Key).ToList())];

    [Fact]
    public void The_shard_budget_cuts_a_run_of_small_shards()
    {
        var groups = Groups(Shards(1, 1, 1, 1, 1, 1, 1), maxShards: 3, maxBytes: 1_000);
        Assert.Equal([["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6"]], groups);
    }

    [Fact]
    public void The_byte_budget_cuts_before_a_shard_that_would_overflow_it()
    {
        var groups = Groups(Shards(40, 40, 30, 50, 60), maxShards: 100, maxBytes: 100);
        Assert.Equal([["k0", "k1"], ["k2", "k3"], ["k4"]], groups);
    }

    [Fact]
    public void A_shard_at_or_above_the_byte_budget_goes_alone()
    {
        var groups = Groups(Shards(10, 100, 250, 10, 10), maxShards: 100, maxBytes: 100);
        Assert.Equal([["k0"], ["k1"], ["k2"], ["k3", "k4"]], groups);
    }

    [Fact]
    public void Every_shard_is_in_exactly_one_command_in_order()
    {
        var random = new Random(7);
        var shards = Shards([.. Enumerable.Range(0, 1_000).Select(_ => (long)random.Next(1, 5_000))]);
        var groups = Groups(shards, maxShards: 16, maxBytes: 20_000);
        Assert.Equal(shards.Select(s => s.Key), groups.SelectMany(g => g));
        Assert.All(groups, g => Assert.InRange(g.Count, 1, 16));
        Assert.All(StageGrain.TokenizeGroups(shards, 16, 20_000), g => Assert.True(g.Count == 1 || g.Sum(s => s.TextBytes) <= 20_000));
        Assert.Empty(Groups([], 16, 20_000));
    }
}
