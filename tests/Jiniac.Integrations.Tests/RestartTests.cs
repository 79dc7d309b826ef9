using Grpc.Net.Client;
using Jiniac.Orchestrator.Tests;
using G = Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Integrations.Tests;

/// <summary>A sink's cursor, its failures and the subscriptions are grain state: a restarted host carries on where the last one stopped.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-restart-").FullName;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task After_a_restart_undelivered_events_go_out_once_and_the_log_keeps_the_earlier_failures()
    {
        const string run = "restarted";
        var state = Path.Combine(_dir, "state");
        _receiver.Secrets["down"] = "k";
        var up = false;
        _receiver.Answer = (_, _, _) => up ? 200 : 503;

        await using (var first = await OrchestratorHost.StartAsync(state, Settings.FastRetries))
        {
            using var channel = GrpcChannel.ForAddress(first.ControlUrl);
            var api = new G.WebhookService.WebhookServiceClient(channel);
            await api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest { Id = "down", Url = _receiver.Url("down"), EventTypes = { "CheckpointSaved" }, Secret = "k", MaxAttempts = 100 });
            await Events.SubmitAsync(first, run);
            await first.Publish(Events.Checkpoint(run, 10));
            await first.Publish(Events.Checkpoint(run, 20));
            await Eventually.Until(async () => (await api.ListDeliveriesAsync(new G.ListDeliveriesRequest { SubscriptionId = "down", RunId = run })).Deliveries,
                d => d.Count(x => !x.Ok) >= 3, "three failed attempts on the first checkpoint");
        }

        var failedBefore = _receiver.Of("down").Count;
        Assert.Empty(_receiver.Accepted("down"));
        up = true;
        await using var second = await OrchestratorHost.StartAsync(state, Settings.FastRetries);
        var accepted = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("down")), r => r.Count >= 2, "both checkpoints delivered after the restart");

        using var channel2 = GrpcChannel.ForAddress(second.ControlUrl);
        var api2 = new G.WebhookService.WebhookServiceClient(channel2);
        Assert.Equal(["down"], (await api2.ListSubscriptionsAsync(new G.ListSubscriptionsRequest())).Subscriptions.Select(s => s.Id));
        Assert.Equal([10L, 20L], accepted.Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("step").GetInt64()));
        Assert.Equal(2, accepted.Select(r => r.EventId).Distinct().Count());
        var log = (await api2.ListDeliveriesAsync(new G.ListDeliveriesRequest { SubscriptionId = "down", RunId = run, Limit = 1000 })).Deliveries;
        var firstEvent = log.Where(d => d.EventId == accepted[0].EventId).OrderBy(d => d.Attempt).ToList();
        // The attempt count went on from where the first host left it: its failures are in the persisted log.
        Assert.True(firstEvent.Count(d => !d.Ok) >= 3);
        Assert.Equal(Enumerable.Range(1, firstEvent.Count), firstEvent.Select(d => d.Attempt));
        Assert.True(firstEvent[^1].Ok);
        Assert.True(failedBefore >= 3);
    }
}
