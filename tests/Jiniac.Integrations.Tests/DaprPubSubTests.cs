using System.Text;
using System.Text.Json;
using Grpc.Net.Client;
using Jiniac.Orchestrator.Tests;
using Jiniac.Publisher.Tests;
using G = Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// The Dapr pub/sub sink through Dapr.Client against the test sidecar (the same server the publisher's GetSecret tests
/// use, with PublishEvent): the only Dapr this path is verified against, since no daprd exists here.
/// </summary>
public sealed class DaprPubSubTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-dapr-").FullName;
    private DaprSidecar _sidecar = null!;

    public async Task InitializeAsync() => _sidecar = await DaprSidecar.StartAsync();

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Checkpoints_are_published_to_the_component_with_their_event_id_and_retried_while_it_is_down()
    {
        const string run = "dapred";
        _sidecar.PubSubs["events"] = true;
        _sidecar.FailPublishes = 2;
        await using var host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"), Settings.With(
            ("Integrations:Dapr:PubSub", "events"),
            ("Integrations:Dapr:GrpcEndpoint", _sidecar.Endpoint.ToString()),
            ("Integrations:Dapr:Events:0", "CheckpointSaved")));
        await Events.SubmitAsync(host, run);
        await host.Publish(Events.Checkpoint(run, 10));
        await host.Publish(Events.Progress(run, 11));
        await host.Publish(Events.Checkpoint(run, 20));

        var published = await Eventually.Until(() => Task.FromResult(_sidecar.Published.ToList()), p => p.Count >= 2, "both checkpoints were published");
        Assert.Equal(2, published.Count);
        Assert.All(published, p => Assert.Equal(("events", "jiniac.events", "application/json"), (p.PubSub, p.Topic, p.ContentType)));
        Assert.Equal([10L, 20L], published.Select(p => JsonDocument.Parse(Encoding.UTF8.GetString(p.Data)).RootElement.GetProperty("step").GetInt64()));
        Assert.All(published, p => Assert.Equal(p.Metadata["cloudevent.id"], $"{run}:{p.Metadata["jiniac-cursor"]}"));
        Assert.All(published, p => Assert.Equal(("CheckpointSaved", run), (p.Metadata["jiniac-event-type"], p.Metadata["jiniac-run"])));

        // The two refusals are in the sink's delivery log, then the success of the same event.
        using var channel = GrpcChannel.ForAddress(host.ControlUrl);
        var log = (await new G.WebhookService.WebhookServiceClient(channel).ListDeliveriesAsync(new G.ListDeliveriesRequest { SubscriptionId = "dapr", RunId = run })).Deliveries;
        var first = log.Where(d => d.EventId == published[0].Metadata["cloudevent.id"]).OrderBy(d => d.Attempt).ToList();
        Assert.Equal([(1, false), (2, false), (3, true)], first.Select(d => (d.Attempt, d.Ok)));
        Assert.Contains("Unavailable", first[0].Error);
        Assert.Contains("pub/sub 'events'", first[0].Error);
    }

    [Fact]
    public async Task An_unknown_component_is_logged_as_a_failed_delivery_and_the_run_goes_on()
    {
        const string run = "no-component";
        await using var host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state2"), Settings.With(
            ("Integrations:Dapr:PubSub", "missing"),
            ("Integrations:Dapr:GrpcEndpoint", _sidecar.Endpoint.ToString()),
            ("Integrations:Delivery:MaxAttempts", "2")));
        await Events.SubmitAsync(host, run);
        using var channel = GrpcChannel.ForAddress(host.ControlUrl);
        var api = new G.WebhookService.WebhookServiceClient(channel);
        var dead = await Eventually.Until(async () => (await api.ListDeadLettersAsync(new G.ListDeliveriesRequest { SubscriptionId = "dapr", RunId = run })).DeadLetters,
            d => d.Count >= 1, "RunSubmitted is a dead letter");
        Assert.Contains("pubsub missing is not found", dead[^1].LastError);
        // The run itself was never held up: it asked for its first stage's data as usual.
        await host.Commands.WaitForAsync<Contracts.IngestSource>(c => c.RunId == run);
    }
}
