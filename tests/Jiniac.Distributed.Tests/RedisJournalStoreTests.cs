using Jiniac.Orchestrator.Journal;
using StackExchange.Redis;

namespace Jiniac.Distributed.Tests;

/// <summary>The distributed journal on a real Redis: dense, single writer, and a retried append is not a second record.</summary>
[Collection(ServersCollection.Name)]
public sealed class RedisJournalStoreTests(RedisServer redis)
{
    [Fact]
    public async Task Appends_load_back_dense_a_retry_returns_its_first_sequence_and_a_stale_writer_is_refused()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var store = new RedisJournalStore(connection);
        var run = "run-" + Guid.NewGuid().ToString("n");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, await store.AppendAsync(run, Record(i, "k" + i), CancellationToken.None));
        }

        // The append of k1 retried (its first try landed but the answer was lost): same sequence, nothing written.
        Assert.Equal(1, await store.AppendAsync(run, Record(3, "k1"), CancellationToken.None));
        // A writer that believes the log is 2 long (a second activation in a failover) is told, not obeyed.
        var conflict = await Assert.ThrowsAsync<JournalConflictException>(() => store.AppendAsync(run, Record(2, "other"), CancellationToken.None));
        Assert.Contains("holds 3 records", conflict.Message, StringComparison.Ordinal);

        var loaded = await new RedisJournalStore(connection).LoadAsync(run, CancellationToken.None);
        Assert.Equal([Record(0, "k0"), Record(1, "k1"), Record(2, "k2")], loaded);
        Assert.Empty(await store.LoadAsync("run-" + Guid.NewGuid().ToString("n"), CancellationToken.None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.AppendAsync("../x", Record(0, "k"), CancellationToken.None));
    }

    private static JournalRecord Record(long sequence, string key) => new()
    {
        Sequence = sequence,
        Timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
        Type = "CheckpointSaved",
        Stage = "en",
        Json = $"{{\"step\":{sequence},\"text\":\"日本語\"}}",
        Key = key,
    };
}
