using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Tests;
using G = Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Integrations.Tests;

/// <summary>Webhooks end to end: subscriptions through the gRPC API and the pipeline file, signed POSTs to a real receiver, retries, dead letters.</summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-hooks-").FullName;
    private WebhookReceiver _receiver = null!;
    private OrchestratorHost _host = null!;
    private GrpcChannel _channel = null!;

    private G.WebhookService.WebhookServiceClient Api => new(_channel);

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"), Settings.FastRetries);
        _channel = GrpcChannel.ForAddress(_host.ControlUrl);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Signed_deliveries_are_retried_with_back_off_and_dead_lettered_after_max_attempts()
    {
        const string run = "hooked";
        _receiver.Secrets["lb"] = "leaderboard-secret";
        _receiver.Secrets["broken"] = "broken-secret";
        // lb: each event's first two attempts fail (503), the third is taken. broken: every attempt fails (500).
        _receiver.Answer = (hook, _, attempt) => hook == "broken" ? 500 : attempt <= 2 ? 503 : 200;
        await Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest
        {
            Id = "lb", Url = _receiver.Url("lb"), EventTypes = { "CheckpointSaved" }, Secret = "leaderboard-secret", MaxAttempts = 5,
        });
        await Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest
        {
            Id = "broken", Url = _receiver.Url("broken"), EventTypes = { "CheckpointSaved" }, Secret = "broken-secret", RunId = run, MaxAttempts = 3,
        });

        await Events.SubmitAsync(_host, run);
        await _host.Publish(Events.Progress(run, 5));
        await _host.Publish(Events.Checkpoint(run, 10));
        await _host.Publish(Events.Progress(run, 15));
        await _host.Publish(Events.Checkpoint(run, 20));

        var accepted = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("lb")), r => r.Count >= 2, "both checkpoints reached lb");
        var dead = await Eventually.Until(async () => (await Api.ListDeadLettersAsync(new G.ListDeliveriesRequest { SubscriptionId = "broken" })).DeadLetters,
            d => d.Count >= 2, "both checkpoints are dead letters of broken");

        // Every request was signed correctly; only CheckpointSaved went out; each event reached lb once, in journal order.
        Assert.All(_receiver.Requests, r => Assert.True(r.SignatureValid, $"bad signature on {r.Hook} {r.EventId}"));
        Assert.All(_receiver.Requests, r => Assert.Equal(("CheckpointSaved", run), (r.Type, r.Run)));
        Assert.Equal([10L, 20L], accepted.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("step").GetInt64()));
        Assert.Equal(accepted.Select(r => $"{run}:{r.Cursor}"), accepted.Select(r => r.EventId));
        Assert.True(accepted[0].Cursor < accepted[1].Cursor);
        Assert.Equal(6, _receiver.Of("lb").Count); // 2 events × (2 failures + 1 success), no duplicate after the success

        var deliveries = (await Api.ListDeliveriesAsync(new G.ListDeliveriesRequest { SubscriptionId = "lb", RunId = run })).Deliveries;
        foreach (var e in accepted)
        {
            var attempts = deliveries.Where(d => d.EventId == e.EventId).OrderBy(d => d.Attempt).ToList();
            Assert.Equal([(1, false, 503), (2, false, 503), (3, true, 200)], attempts.Select(d => (d.Attempt, d.Ok, d.StatusCode)));
            Assert.Contains("503", attempts[0].Error);
        }

        Assert.Empty((await Api.ListDeadLettersAsync(new G.ListDeliveriesRequest { SubscriptionId = "lb" })).DeadLetters);
        Assert.Equal(accepted.Select(a => a.EventId).Reverse(), dead.Select(d => d.EventId));
        Assert.All(dead, d => Assert.Equal((3, "CheckpointSaved"), (d.Attempts, d.EventType)));
        Assert.All(dead, d => Assert.Contains("HTTP 500", d.LastError));
        Assert.All(dead, d => Assert.DoesNotContain("/hook/broken", d.LastError)); // a URL's path may be a token: never in errors
        Assert.Equal(6, _receiver.Of("broken").Count);

        var listed = (await Api.ListSubscriptionsAsync(new G.ListSubscriptionsRequest())).Subscriptions;
        Assert.Equal(["broken", "lb"], listed.Select(s => s.Id).Order());
        Assert.All(listed, s => Assert.Equal("api", s.Origin));
        Assert.True((await Api.DeleteSubscriptionAsync(new G.DeleteSubscriptionRequest { Id = "broken" })).Deleted);
        var gone = await Assert.ThrowsAsync<RpcException>(() => Api.DeleteSubscriptionAsync(new G.DeleteSubscriptionRequest { Id = "broken" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Dead_letters_resent_once_the_receiver_is_fixed_are_delivered_and_one_that_fails_again_is_dead_again()
    {
        const string run = "resent";
        _receiver.Secrets["flaky"] = "flaky-secret";
        var working = false;
        _receiver.Answer = (_, _, _) => Volatile.Read(ref working) ? 200 : 500;
        await Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest
        {
            Id = "flaky", Url = _receiver.Url("flaky"), EventTypes = { "CheckpointSaved" }, Secret = "flaky-secret", RunId = run, MaxAttempts = 2,
        });
        await Events.SubmitAsync(_host, run);
        for (var step = 10; step <= 30; step += 10)
        {
            await _host.Publish(Events.Checkpoint(run, step));
        }

        var request = new G.ListDeliveriesRequest { SubscriptionId = "flaky", RunId = run };
        var dead = await Eventually.Until(async () => (await Api.ListDeadLettersAsync(request)).DeadLetters, d => d.Count == 3, "three dead letters");
        var first = dead.MinBy(d => d.Cursor)!;

        // Resent while the receiver still fails: two fresh attempts, then a dead letter again.
        Assert.Equal(1, (await Api.ResendDeadLettersAsync(new G.ResendDeadLettersRequest { SubscriptionId = "flaky", EventIds = { first.EventId } })).Resent);
        await Eventually.Until(() => Task.FromResult(_receiver.Of("flaky").Count(r => r.EventId == first.EventId)), n => n == 4, "two more attempts on the resent event");
        dead = await Eventually.Until(async () => (await Api.ListDeadLettersAsync(request)).DeadLetters, d => d.Count == 3, "the resent event is a dead letter again");
        Assert.Equal(1, dead.Count(d => d.EventId == first.EventId));

        // Fixed: one by id, then the rest; each is delivered once, and nothing is left to resend.
        Volatile.Write(ref working, true);
        Assert.Equal(1, (await Api.ResendDeadLettersAsync(new G.ResendDeadLettersRequest { SubscriptionId = "flaky", RunId = run, EventIds = { first.EventId } })).Resent);
        await Eventually.Until(() => Task.FromResult(_receiver.Accepted("flaky")), a => a.Count == 1, "the chosen dead letter is delivered");
        Assert.Equal(first.EventId, _receiver.Accepted("flaky")[0].EventId);
        Assert.Equal(2, (await Api.ListDeadLettersAsync(request)).DeadLetters.Count);
        Assert.Equal(2, (await Api.ResendDeadLettersAsync(new G.ResendDeadLettersRequest { SubscriptionId = "flaky" })).Resent);
        var accepted = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("flaky")), a => a.Count == 3, "every dead letter is delivered");
        Assert.Equal(dead.Select(d => d.EventId).Order(), accepted.Select(a => a.EventId).Order());
        Assert.All(_receiver.Of("flaky"), r => Assert.True(r.SignatureValid));
        Assert.Empty((await Api.ListDeadLettersAsync(request)).DeadLetters);
        Assert.Equal(0, (await Api.ResendDeadLettersAsync(new G.ResendDeadLettersRequest { SubscriptionId = "flaky" })).Resent);

        // The journal goes on as before: a new checkpoint is delivered in the normal way, once.
        await _host.Publish(Events.Checkpoint(run, 40));
        accepted = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("flaky")), a => a.Count == 4, "the next checkpoint is delivered");
        Assert.Equal(4, accepted.Select(a => a.EventId).Distinct().Count());
        var bad = await Assert.ThrowsAsync<RpcException>(() => Api.ResendDeadLettersAsync(new G.ResendDeadLettersRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
    }

    [Fact]
    public async Task A_pipeline_files_webhook_reads_its_secret_from_a_file_and_gets_the_runs_checkpoints()
    {
        const string run = "piped";
        var secretFile = Path.Combine(_dir, "ci.secret");
        await File.WriteAllTextAsync(secretFile, "from-a-file\n");
        _receiver.Secrets["ci"] = "from-a-file";
        var spec = Orchestrator.Tests.Pipelines.TwoStages(run) with
        {
            Integrations = new IntegrationsSpec
            {
                Webhooks = [new WebhookSpec { Name = "ci", Url = _receiver.Url("ci"), Events = ["CheckpointSaved", "RunSubmitted"], SecretFile = secretFile }],
            },
        };
        await Events.SubmitAsync(_host, run, spec);
        await _host.Publish(Events.Checkpoint(run, 30));

        var got = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("ci")), r => r.Any(x => x.Type == "CheckpointSaved"), "the checkpoint reached ci");
        Assert.Equal(["RunSubmitted", "CheckpointSaved"], got.Select(r => r.Type));
        Assert.All(got, r => Assert.True(r.SignatureValid));

        var listed = (await Api.ListSubscriptionsAsync(new G.ListSubscriptionsRequest { RunId = run })).Subscriptions.Single(s => s.Origin == "pipeline");
        Assert.Equal(("pipeline:ci", run), (listed.Id, listed.RunId));
        var log = (await Api.ListDeliveriesAsync(new G.ListDeliveriesRequest { SubscriptionId = "pipeline:ci", RunId = run })).Deliveries;
        Assert.Equal(got.Select(r => r.EventId).Reverse(), log.Select(d => d.EventId));
    }

    [Fact]
    public async Task A_subscription_made_from_now_gets_no_history_and_one_made_without_gets_it_all()
    {
        const string run = "history";
        _receiver.Secrets["new"] = "k";
        _receiver.Secrets["all"] = "k";
        await Events.SubmitAsync(_host, run);
        await _host.Publish(Events.Checkpoint(run, 10));
        var journal = _host.Grains.GetGrain<Orchestrator.Grains.IJournalGrain>(run);
        await Eventually.Until(() => journal.ReadAsync(0, 1000), e => e.Any(x => x.Type == "CheckpointSaved"), "the first checkpoint is journaled");

        await Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest { Id = "new", Url = _receiver.Url("new"), EventTypes = { "CheckpointSaved" }, Secret = "k", RunId = run, FromNow = true });
        await Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest { Id = "all", Url = _receiver.Url("all"), EventTypes = { "CheckpointSaved" }, Secret = "k", RunId = run });
        await _host.Publish(Events.Checkpoint(run, 20));

        await Eventually.Until(() => Task.FromResult(_receiver.Accepted("all")), r => r.Count >= 2, "'all' got both checkpoints");
        var fresh = await Eventually.Until(() => Task.FromResult(_receiver.Accepted("new")), r => r.Count >= 1, "'new' got the second checkpoint");
        Assert.Equal([20L], fresh.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("step").GetInt64()));
    }

    [Fact]
    public async Task Bad_subscriptions_are_refused_naming_each_field()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Api.CreateSubscriptionAsync(new G.CreateSubscriptionRequest
        {
            Id = "../x", Url = "ftp://example.org", EventTypes = { "CheckpointSavd" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        foreach (var part in new[] { "id: '../x'", "url: 'ftp://example.org'", "event_types: 'CheckpointSavd'", "secret: required" })
        {
            Assert.Contains(part, e.Status.Detail);
        }
    }
}

internal static class Settings
{
    /// <summary>Back-off short enough for a test, still doubling (10 ms, 20 ms, 40 ms, ... at most 200 ms).</summary>
    public static readonly IReadOnlyDictionary<string, string?> FastRetries = new Dictionary<string, string?>
    {
        ["Integrations:Delivery:InitialBackoff"] = "00:00:00.010",
        ["Integrations:Delivery:MaxBackoff"] = "00:00:00.200",
    };

    public static IReadOnlyDictionary<string, string?> With(params (string Key, string? Value)[] more)
    {
        var all = new Dictionary<string, string?>(FastRetries);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }
}
