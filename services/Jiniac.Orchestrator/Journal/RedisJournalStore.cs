using System.Text.Json;
using StackExchange.Redis;

namespace Jiniac.Orchestrator.Journal;

/// <summary>
/// The distributed journal: per run a Redis list of JSON records (index = sequence) and a hash from record key to
/// sequence. One Lua script does the check and the append atomically, so the list stays dense even when a failover
/// briefly leaves two writers, and a retried append is answered with the sequence it already got. Run Redis with
/// AOF and <c>appendfsync always</c> (infra/redis): an append that returned is on disk.
/// </summary>
public sealed class RedisJournalStore(IConnectionMultiplexer redis) : IJournalStore
{
    private static readonly JsonSerializerOptions Json = OrchestratorJson.Options;

    // KEYS[1] list, KEYS[2] key hash; ARGV[1] expected sequence, ARGV[2] record key ('' for none), ARGV[3] record JSON.
    // Returns the record's sequence, or -1 - length when the list is not the expected length.
    private static readonly LuaScript Append = LuaScript.Prepare("""
        if @key ~= '' then
          local existing = redis.call('HGET', @keys, @key)
          if existing then return tonumber(existing) end
        end
        local length = redis.call('LLEN', @list)
        if length ~= tonumber(@expected) then return -1 - length end
        redis.call('RPUSH', @list, @json)
        if @key ~= '' then redis.call('HSET', @keys, @key, length) end
        return length
        """);

    public async Task<List<JournalRecord>> LoadAsync(string runId, CancellationToken cancellationToken)
    {
        var values = await redis.GetDatabase().ListRangeAsync(ListKey(runId));
        var records = new List<JournalRecord>(values.Length);
        foreach (var value in values)
        {
            records.Add(JsonSerializer.Deserialize<JournalRecord>((string)value!, Json)
                ?? throw new InvalidDataException($"journal of run '{runId}': record {records.Count} is empty"));
        }

        return records;
    }

    public async Task<long> AppendAsync(string runId, JournalRecord record, CancellationToken cancellationToken)
    {
        var list = ListKey(runId);
        var keys = (RedisKey)(ListKey(runId).ToString() + "/keys");
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(Append, new
        {
            list,
            keys,
            expected = record.Sequence,
            key = record.Key ?? "",
            json = JsonSerializer.Serialize(record, Json),
        });
        return result >= 0 ? result : throw new JournalConflictException(runId, record.Sequence, -1 - result);
    }

    private static RedisKey ListKey(string runId) => "jiniac/journal/" + Hosting.SafeName.Check(runId, "run id");
}
