using System.Text.Json;
using Jiniac.Orchestrator.Grains;
using StackExchange.Redis;

namespace Jiniac.Orchestrator.Journal;

/// <summary>
/// A stage's shard table, kept out of the stage's grain state: that state is written whole, so with the shards in it
/// every write cost O(shards) (100,000 shards: megabytes per checkpoint). Here each change of a shard is an appended
/// record (the shard as it now is) and a batch of them is one durable append; the stage rebuilds its table by folding
/// the records in order (<see cref="ShardLog.Apply"/>) when it activates.
/// </summary>
public interface IShardLogStore
{
    /// <summary>The stage's shard records, oldest first (an empty list for a stage with none).</summary>
    Task<List<StageShard>> LoadAsync(string runId, string stage, CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="shards"/> together; when it returns they are durable.</summary>
    Task AppendAsync(string runId, string stage, IReadOnlyList<StageShard> shards, CancellationToken cancellationToken);
}

public static class ShardLog
{
    /// <summary>
    /// Folds one record into the table. A tokenized shard stays tokenized: a record without a prefix that follows one
    /// with it (a second activation's stale write during a silo failover) does not take the output away.
    /// </summary>
    public static void Apply(Dictionary<string, StageShard> table, StageShard record)
    {
        if (table.TryGetValue(record.Key, out var known) && known.Prefix is not null && record.Prefix is null)
        {
            return;
        }

        table[record.Key] = record;
    }
}

/// <summary>Embedded: one JSON Lines file per stage, each append one write and one fsync; a torn last line (a crash mid-append) is skipped on load.</summary>
public sealed class FileShardLogStore(string root) : IShardLogStore
{
    public async Task<List<StageShard>> LoadAsync(string runId, string stage, CancellationToken cancellationToken)
    {
        var records = new List<StageShard>();
        await foreach (var record in JsonLinesFile.ReadAsync<StageShard>(PathOf(runId, stage), cancellationToken))
        {
            // A torn line's batch was not acknowledged: it comes again.
            records.Add(record);
        }

        return records;
    }

    public Task AppendAsync(string runId, string stage, IReadOnlyList<StageShard> shards, CancellationToken cancellationToken) =>
        shards.Count == 0 ? Task.CompletedTask : JsonLinesFile.AppendAsync(PathOf(runId, stage), shards, cancellationToken);

    private string PathOf(string runId, string stage) =>
        Path.Combine(root, Hosting.SafeName.Check(runId, "run id"), Hosting.SafeName.Check(stage, "stage name") + ".jsonl");
}

/// <summary>
/// Distributed: a Redis list per stage; a batch is one RPUSH (atomic), on disk when it returns with AOF and
/// <c>appendfsync always</c> (infra/redis). Every silo sees the same list, wherever the stage grain comes back.
/// </summary>
public sealed class RedisShardLogStore(IConnectionMultiplexer redis) : IShardLogStore
{
    private static readonly JsonSerializerOptions Json = OrchestratorJson.Options;

    public async Task<List<StageShard>> LoadAsync(string runId, string stage, CancellationToken cancellationToken)
    {
        var values = await redis.GetDatabase().ListRangeAsync(KeyOf(runId, stage));
        var records = new List<StageShard>(values.Length);
        foreach (var value in values)
        {
            records.Add(JsonSerializer.Deserialize<StageShard>((string)value!, Json)
                ?? throw new InvalidDataException($"shard log of stage '{runId}/{stage}': record {records.Count} is empty"));
        }

        return records;
    }

    public async Task AppendAsync(string runId, string stage, IReadOnlyList<StageShard> shards, CancellationToken cancellationToken)
    {
        if (shards.Count == 0)
        {
            return;
        }

        var values = new RedisValue[shards.Count];
        for (var i = 0; i < shards.Count; i++)
        {
            values[i] = JsonSerializer.Serialize(shards[i], Json);
        }

        await redis.GetDatabase().ListRightPushAsync(KeyOf(runId, stage), values);
    }

    private static RedisKey KeyOf(string runId, string stage) =>
        $"jiniac/shards/{Hosting.SafeName.Check(runId, "run id")}/{Hosting.SafeName.Check(stage, "stage name")}";
}
