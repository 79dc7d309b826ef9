using System.Text.Json;
using Grpc.Net.Client;
using Jiniac.Distributed.Tests;
using Jiniac.Orchestrator.Tests;
using Jiniac.Publisher.Tests;
using C = Jiniac.Contracts.Grpc.Control.V1;
using G = Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Integrations.Tests;

/// <summary>RabbitMQ started once per test run by infra/rabbitmq/start.sh (left running if it already was).</summary>
[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqServer>
{
    public const string Name = "rabbitmq";
}

/// <summary>
/// Events on the documented exchange of a real RabbitMQ, read by Node's amqplib; and the "done when": a Node AMQP
/// subscriber, a gRPC watcher resuming from a cursor, a webhook receiver and the Dapr test sidecar get the same checkpoints.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqSinkTests(RabbitMqServer rabbit) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-amqp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_node_amqplib_subscriber_reads_CheckpointSaved_from_the_topic_exchange()
    {
        var run = $"amqp-{Guid.NewGuid():N}"[..17];
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var node = await NodeAmqpSubscriber.StartAsync(rabbit.Address, "jiniac.events", $"{run}.CheckpointSaved", 2, cts.Token);
        await using var host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"), Settings.With(("Integrations:RabbitMq:Url", rabbit.Address)));
        await Events.SubmitAsync(host, run);
        await host.Publish(Events.Progress(run, 5));
        await host.Publish(Events.Checkpoint(run, 10));
        await host.Publish(Events.Checkpoint(run, 20));

        var messages = new[] { await node.NextAsync(cts.Token), await node.NextAsync(cts.Token) };
        var journal = (await host.Grains.GetGrain<Orchestrator.Grains.IJournalGrain>(run).ReadAsync(0, 1000)).Where(e => e.Type == "CheckpointSaved").ToList();
        Assert.Equal(2, journal.Count);
        var schema = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(InfraServer.RepoRoot, "docs", "events", "CheckpointSaved.schema.json")))!;
        for (var i = 0; i < 2; i++)
        {
            var m = messages[i];
            var id = $"{run}:{journal[i].Sequence}";
            Assert.Equal($"{run}.CheckpointSaved", m.GetProperty("routingKey").GetString());
            Assert.Equal((id, "CheckpointSaved", "application/json", true),
                (m.GetProperty("messageId").GetString(), m.GetProperty("type").GetString(), m.GetProperty("contentType").GetString(), m.GetProperty("persistent").GetBoolean()));
            var headers = m.GetProperty("headers");
            Assert.Equal((id, "CheckpointSaved", run, journal[i].Sequence, "en"),
                (headers.GetProperty("jiniac-event-id").GetString(), headers.GetProperty("jiniac-event-type").GetString(), headers.GetProperty("jiniac-run").GetString(),
                 headers.GetProperty("jiniac-cursor").GetInt64(), headers.GetProperty("jiniac-stage").GetString()));
            // The body is the event itself, as the journal holds it (and as docs/events/CheckpointSaved.schema.json describes).
            Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(journal[i].Json).RootElement, m.GetProperty("body")));
            Assert.Empty(SchemaCheck.Problems(schema, m.GetProperty("body")));
        }

        Assert.Equal([10L, 20L], messages.Select(m => m.GetProperty("body").GetProperty("step").GetInt64()));
    }

    [Fact]
    public async Task Every_transport_receives_the_same_CheckpointSaved_events_of_one_run()
    {
        var run = $"every-{Guid.NewGuid():N}"[..18];
        const int checkpoints = 3;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var node = await NodeAmqpSubscriber.StartAsync(rabbit.Address, "jiniac.events", $"{run}.CheckpointSaved", checkpoints, cts.Token);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Secrets["all"] = "s3cret";
        receiver.Answer = (_, _, attempt) => attempt == 1 ? 502 : 200; // every event needs a retry
        await using var sidecar = await DaprSidecar.StartAsync();
        sidecar.PubSubs["events"] = true;
        await using var host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"), Settings.With(
            ("Integrations:RabbitMq:Url", rabbit.Address),
            ("Integrations:Dapr:PubSub", "events"),
            ("Integrations:Dapr:GrpcEndpoint", sidecar.Endpoint.ToString()),
            ("Integrations:Dapr:Events:0", "CheckpointSaved")));
        using var channel = GrpcChannel.ForAddress(host.ControlUrl);
        await new G.WebhookService.WebhookServiceClient(channel).CreateSubscriptionAsync(new G.CreateSubscriptionRequest
        {
            Id = "all", Url = receiver.Url("all"), EventTypes = { "CheckpointSaved" }, Secret = "s3cret", RunId = run,
        });

        await Events.SubmitAsync(host, run);
        var control = new C.ControlService.ControlServiceClient(channel);
        var watched = new List<C.JournalEntry>();
        await host.Publish(Events.Checkpoint(run, 10));
        // The watcher reads the first checkpoint, disconnects, and resumes from its cursor after the others happened.
        using (var first = CancellationTokenSource.CreateLinkedTokenSource(cts.Token))
        {
            using var call = control.WatchEvents(new C.WatchEventsRequest { RunId = run, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: first.Token);
            Assert.True(await call.ResponseStream.MoveNext(first.Token));
            watched.Add(call.ResponseStream.Current);
            await first.CancelAsync();
        }

        await host.Publish(Events.Progress(run, 15));
        await host.Publish(Events.Checkpoint(run, 20));
        await host.Publish(Events.Checkpoint(run, 30));
        using (var call = control.WatchEvents(new C.WatchEventsRequest { RunId = run, From = watched[^1].Sequence + 1, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: cts.Token))
        {
            while (watched.Count < checkpoints && await call.ResponseStream.MoveNext(cts.Token))
            {
                watched.Add(call.ResponseStream.Current);
            }
        }

        var amqp = new List<JsonElement>();
        for (var i = 0; i < checkpoints; i++)
        {
            amqp.Add(await node.NextAsync(cts.Token));
        }

        var hooks = await Eventually.Until(() => Task.FromResult(receiver.Accepted("all")), r => r.Count >= checkpoints, "the webhook got every checkpoint");
        var dapr = await Eventually.Until(() => Task.FromResult(sidecar.Published.ToList()), p => p.Count >= checkpoints, "Dapr got every checkpoint");

        // The same events — same ids (run:cursor), same bodies — on all four, in the same order.
        var expected = watched.Select(w => ($"{run}:{w.Sequence}", Canonical(w.Json))).ToList();
        Assert.Equal(checkpoints, expected.Count);
        Assert.Equal(expected, amqp.Select(m => (m.GetProperty("messageId").GetString()!, Canonical(m.GetProperty("body").GetRawText()))));
        Assert.Equal(expected, hooks.Select(h => (h.EventId, Canonical(h.Body))));
        Assert.Equal(expected, dapr.Select(p => (p.Metadata["cloudevent.id"], Canonical(System.Text.Encoding.UTF8.GetString(p.Data)))));
        Assert.Equal([10L, 20L, 30L], watched.Select(w => JsonDocument.Parse(w.Json).RootElement.GetProperty("step").GetInt64()));
        Assert.All(hooks, h => Assert.True(h.SignatureValid));
    }

    private static string Canonical(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
