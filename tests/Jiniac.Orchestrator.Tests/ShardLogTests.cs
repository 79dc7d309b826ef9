using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Journal;

namespace Jiniac.Orchestrator.Tests;

/// <summary>The stage's shard table lives in its shard log, not in the stage state that is written whole.</summary>
public sealed class ShardLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jiniac-shardlog-").FullName;

    [Fact]
    public async Task Appended_shards_load_back_in_order_and_a_torn_last_line_is_skipped()
    {
        var store = new FileShardLogStore(_root);
        var shards = Enumerable.Range(0, 5).Select(Shard).ToList();
        await store.AppendAsync("r1", "en", shards[..2], CancellationToken.None);
        await store.AppendAsync("r1", "en", shards[2..], CancellationToken.None);
        Assert.Equal(Json(shards), Json(await new FileShardLogStore(_root).LoadAsync("r1", "en", CancellationToken.None)));
        Assert.Empty(await store.LoadAsync("r1", "ja", CancellationToken.None));

        // A crash mid-append leaves half a line with no newline: skipped, and the next append starts on a line of its own.
        var file = Path.Combine(_root, "r1", "en.jsonl");
        var line = JsonSerializer.Serialize(Shard(5), OrchestratorJson.Options);
        await File.AppendAllTextAsync(file, line[..(line.Length / 2)], Encoding.UTF8);
        Assert.Equal(Json(shards), Json(await store.LoadAsync("r1", "en", CancellationToken.None)));
        await store.AppendAsync("r1", "en", [Shard(6)], CancellationToken.None);
        Assert.Equal(Json([.. shards, Shard(6)]), Json(await store.LoadAsync("r1", "en", CancellationToken.None)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.AppendAsync("../outside", "en", shards, CancellationToken.None));
    }

    [Fact]
    public void Folding_takes_the_latest_record_of_a_shard_but_never_takes_its_tokenized_output_away()
    {
        var table = new Dictionary<string, StageShard>();
        ShardLog.Apply(table, Shard(0));
        var failed = Shard(0);
        failed.Error = "bad gzip";
        ShardLog.Apply(table, failed);
        Assert.Equal("bad gzip", table["k0"].Error);

        var tokenized = Shard(0);
        tokenized.Prefix = "tokenized/k0";
        tokenized.Tokens = 42;
        ShardLog.Apply(table, tokenized);
        // A stale writer's record (a second activation during a failover) comes after it without the output.
        ShardLog.Apply(table, Shard(0));
        Assert.Equal(("tokenized/k0", 42L, (string?)null), (table["k0"].Prefix, table["k0"].Tokens, table["k0"].Error));
        Assert.Single(table);
    }

    [Fact]
    public async Task The_stage_state_holds_no_shard_and_a_restarted_host_rebuilds_the_table_from_the_log_and_from_an_older_state()
    {
        const string run = "shardlog";
        var stateDir = Path.Combine(_root, "state");
        RunShards shards;
        string table;
        StageView before;
        await using (var host = await OrchestratorHost.StartAsync(stateDir))
        {
            shards = await Drive.ToFirstStageTrainingAsync(host, run);
            table = Json(await host.Stage(run, "en").GetShardsAsync());
            before = await host.Stage(run, "en").GetViewAsync();
        }

        Assert.Equal(5, before.ShardsTotal);
        Assert.Equal(5, before.ShardsTokenized);
        var stageFile = Directory.GetFiles(Path.Combine(stateDir, "grains", "stage"), Uri.EscapeDataString(GrainKeys.Stage(run, "en")) + ".json", SearchOption.AllDirectories).Single();
        foreach (var file in Directory.GetFiles(Path.Combine(stateDir, "grains"), "*.json", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(shards.StoriesTrain1.ShardKey, File.ReadAllText(file), StringComparison.Ordinal);
        }

        var log = Path.Combine(stateDir, "shards", run, "en.jsonl");
        Assert.Contains(shards.StoriesTrain1.ShardKey, await File.ReadAllTextAsync(log), StringComparison.Ordinal);

        await using (var host = await OrchestratorHost.StartAsync(stateDir))
        {
            Assert.Equal(table, Json(await host.Stage(run, "en").GetShardsAsync()));
            var after = await host.Stage(run, "en").GetViewAsync();
            Assert.Equal(JsonSerializer.Serialize(before.Data), JsonSerializer.Serialize(after.Data));
            Assert.Equal((5, 5), (after.ShardsTotal, after.ShardsTokenized));
        }

        // A state written before the shard log kept the table in "Shards": it moves to the log when the stage activates.
        var node = JsonNode.Parse(await File.ReadAllTextAsync(stageFile))!;
        var legacy = new JsonObject();
        foreach (var shard in JsonNode.Parse(table)!.AsArray())
        {
            legacy[(string)shard!["key"]!] = shard.DeepClone();
        }

        node["state"]!["shards"] = legacy;
        await File.WriteAllTextAsync(stageFile, node.ToJsonString());
        File.Delete(log);
        await using (var host = await OrchestratorHost.StartAsync(stateDir))
        {
            Assert.Equal(table, Json(await host.Stage(run, "en").GetShardsAsync()));
        }

        Assert.DoesNotContain(shards.StoriesTrain1.ShardKey, await File.ReadAllTextAsync(stageFile), StringComparison.Ordinal);
        Assert.Contains(shards.StoriesTrain1.ShardKey, await File.ReadAllTextAsync(log), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static StageShard Shard(int i) => new() { Key = $"k{i}", Source = "stories", Split = SplitNames.Train, Blob = $"b/{i}", Records = i, TextBytes = 10 * i };

    private static string Json(IEnumerable<StageShard> shards) => JsonSerializer.Serialize(shards, OrchestratorJson.Options);
}
