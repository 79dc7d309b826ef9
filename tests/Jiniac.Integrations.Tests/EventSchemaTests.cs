using System.Text.Json;
using System.Text.Json.Nodes;
using Jiniac.Contracts;
using Jiniac.Distributed.Tests;
using Jiniac.Orchestrator;
using Jiniac.Orchestrator.Consumers;
using MassTransit;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// docs/events/*.schema.json are what a non-.NET subscriber codes against: they must be exactly what the contract records
/// say now. Regenerate them with <c>JINIAC_WRITE_EVENT_SCHEMAS=1 dotnet test tests/Jiniac.Integrations.Tests --filter EventSchemaTests</c>.
/// </summary>
public sealed class EventSchemaTests
{
    private static string Folder => Path.Combine(InfraServer.RepoRoot, "docs", "events");

    [Fact]
    public void Each_contract_event_has_its_schema_in_docs_and_it_matches_the_record()
    {
        var write = Environment.GetEnvironmentVariable("JINIAC_WRITE_EVENT_SCHEMAS") == "1";
        var stale = new List<string>();
        foreach (var type in EventTypes.Contract)
        {
            var path = Path.Combine(Folder, $"{type.Name}.schema.json");
            var text = EventSchemas.Text(EventSchemas.For(type));
            if (write)
            {
                Directory.CreateDirectory(Folder);
                File.WriteAllText(path, text);
            }
            else if (!File.Exists(path) || File.ReadAllText(path) != text)
            {
                stale.Add(Path.GetFileName(path));
            }
        }

        Assert.True(stale.Count == 0, $"docs/events is out of date for {string.Join(", ", stale)}: regenerate (see this test's summary)");
        var extra = Directory.GetFiles(Folder, "*.schema.json").Select(Path.GetFileName).Except(EventTypes.Contract.Select(t => $"{t.Name}.schema.json"));
        Assert.Empty(extra);
    }

    [Fact]
    public void Every_event_the_journal_records_is_a_known_event_type()
    {
        var recorded = typeof(JournalRecorder).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => i.GetGenericArguments()[0]).ToHashSet();
        // The per-shard events are journalled by the batch consumer, a batch per append.
        foreach (var batch in typeof(ShardEventBatchConsumer).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => i.GetGenericArguments()[0])
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Batch<>)))
        {
            recorded.Add(batch.GetGenericArguments()[0]);
        }

        Assert.Equal(recorded.Select(t => t.Name).Order(), EventTypes.Contract.Select(t => t.Name).Order());
    }

    [Fact]
    public void Real_events_as_the_sinks_send_them_satisfy_their_schemas_and_a_broken_one_does_not()
    {
        var checkpoint = JsonSerializer.SerializeToElement(Events.Checkpoint("r", 10) with { Loss = double.NaN }, OrchestratorJson.Options);
        var quarantined = JsonSerializer.SerializeToElement(new RecordsQuarantined
        {
            RunId = "r", Stage = "en", Source = "web", Attempt = 1, Count = 2, QuarantineBlob = "q.jsonl", Reasons = new Dictionary<string, long> { ["bad_json"] = 2 },
        }, OrchestratorJson.Options);
        Assert.Empty(SchemaCheck.Problems(Load("CheckpointSaved"), checkpoint));
        Assert.Empty(SchemaCheck.Problems(Load("RecordsQuarantined"), quarantined));

        var broken = JsonNode.Parse(checkpoint.GetRawText())!.AsObject();
        broken.Remove("step");
        broken["loss"] = "low";
        var problems = SchemaCheck.Problems(Load("CheckpointSaved"), JsonSerializer.SerializeToElement(broken));
        Assert.Contains("$: required property 'step' is missing", problems);
        Assert.Contains("$.loss: matches none of anyOf", problems);
    }

    private static JsonNode Load(string type) => JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, $"{type}.schema.json")))!;
}
