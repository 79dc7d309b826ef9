using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Grpc.Net.Client;
using Jiniac.Distributed.Tests;
using Jiniac.Publisher.Tests;
using C = Jiniac.Contracts.Grpc.Control.V1;
using Cli = Jiniac.EndToEnd.Tests.Jiniac;
using TinyCorpus = Jiniac.EndToEnd.Tests.TinyCorpus;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// Issue 8's "done when", on a real run: `jiniac run` (the embedded platform and the reference trainer, as processes) on a
/// tiny two-stage curriculum, configured by environment for RabbitMQ and Dapr and by its pipeline file for a webhook. A
/// Node amqplib subscriber, a gRPC watcher that disconnects and resumes from its cursor, the webhook receiver and the Dapr
/// test sidecar each receive the same CheckpointSaved events.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RealRunTests(RabbitMqServer rabbit) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-realrun-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_real_runs_checkpoints_reach_the_amqp_subscriber_the_resuming_watcher_the_webhook_and_dapr_alike()
    {
        var run = $"real-{Guid.NewGuid():N}"[..13];
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        TinyCorpus.Write(_dir);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Secrets["board"] = "real-secret";
        await File.WriteAllTextAsync(Path.Combine(_dir, "board.secret"), "real-secret\n");
        var pipeline = Path.Combine(_dir, "pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, TinyCorpus.Pipeline(run, enBudget: 12_800, jaBudget: 6_400) + $"""

            integrations:
              webhooks:
                - name: board
                  url: {receiver.Url("board")}
                  events: [CheckpointSaved]
                  secret_file: board.secret

            """);
        await using var sidecar = await DaprSidecar.StartAsync();
        sidecar.PubSubs["events"] = true;
        await using var node = await NodeAmqpSubscriber.StartAsync(rabbit.Address, "jiniac.events", $"{run}.CheckpointSaved", 1000, cts.Token);

        var state = Path.Combine(_dir, "state");
        using var host = StartRun(pipeline, state, new Dictionary<string, string>
        {
            ["Integrations__RabbitMq__Url"] = rabbit.Address,
            ["Integrations__Dapr__PubSub"] = "events",
            ["Integrations__Dapr__GrpcEndpoint"] = sidecar.Endpoint.ToString(),
            ["Integrations__Dapr__Events__0"] = "CheckpointSaved",
        });
        var stdout = host.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = host.StandardError.ReadToEndAsync(cts.Token);

        // The watcher: the first checkpoint, a disconnect, then the rest from its cursor until the run ends the stream.
        var watched = new List<C.JournalEntry>();
        using (var channel = GrpcChannel.ForAddress(await ControlAddressAsync(state, host, cts.Token)))
        {
            var control = new C.ControlService.ControlServiceClient(channel);
            // The control API listens a moment before the run is submitted: until then the run is NotFound.
            using var retry = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (watched.Count == 0)
            {
                using var first = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                using var call = control.WatchEvents(new C.WatchEventsRequest { RunId = run, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: first.Token);
                try
                {
                    Assert.True(await call.ResponseStream.MoveNext(first.Token), "the watch ended before a checkpoint");
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound && !host.HasExited)
                {
                    await retry.WaitForNextTickAsync(cts.Token);
                    continue;
                }

                watched.Add(call.ResponseStream.Current);
                await first.CancelAsync();
            }

            using var resumed = control.WatchEvents(new C.WatchEventsRequest { RunId = run, From = watched[^1].Sequence + 1, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: cts.Token);
            while (await resumed.ResponseStream.MoveNext(cts.Token))
            {
                watched.Add(resumed.ResponseStream.Current);
            }
        }

        await host.WaitForExitAsync(cts.Token);
        Assert.True(host.ExitCode == 0, $"jiniac run: exit {host.ExitCode}\n{await stdout}\n{await stderr}");

        // Two stages of 100 and 50 steps with a checkpoint every 25: at least one checkpoint per stage.
        Assert.True(watched.Count >= 4, $"only {watched.Count} checkpoints watched");
        var expected = watched.Select(w => ($"{run}:{w.Sequence}", Canonical(w.Json))).ToList();
        Assert.Equal(expected.Count, expected.Distinct().Count());
        var amqp = new List<(string, string)>();
        for (var i = 0; i < expected.Count; i++)
        {
            var m = await node.NextAsync(cts.Token);
            amqp.Add((m.GetProperty("messageId").GetString()!, Canonical(m.GetProperty("body").GetRawText())));
        }

        Assert.Equal(expected, amqp);
        Assert.Equal(expected, receiver.Accepted("board").Select(h => (h.EventId, Canonical(h.Body))));
        Assert.All(receiver.Requests, r => Assert.True(r.SignatureValid));
        Assert.Equal(expected, sidecar.Published.Select(p => (p.Metadata["cloudevent.id"], Canonical(Encoding.UTF8.GetString(p.Data)))));
        Assert.Equal(["en", "ja"], watched.Select(w => w.Stage).Distinct());
    }

    private static Process StartRun(string pipeline, string state, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(pipeline)!, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Cli.Cli, "run", pipeline, "--state-dir", state, "--plain" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["JINIAC_TRAINER"] = Cli.Trainer;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
    }

    /// <summary>The live host writes its control API's address to {state}/control.json once it listens.</summary>
    private static async Task<string> ControlAddressAsync(string state, Process host, CancellationToken cancellationToken)
    {
        var file = Path.Combine(state, "control.json");
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!File.Exists(file))
        {
            Assert.False(host.HasExited, $"jiniac run exited ({(host.HasExited ? host.ExitCode : 0)}) before its control API listened");
            await timer.WaitForNextTickAsync(cancellationToken);
        }

        while (true)
        {
            try
            {
                return JsonDocument.Parse(await File.ReadAllTextAsync(file, cancellationToken)).RootElement.GetProperty("address").GetString()!;
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                // Written by rename, so this is only a race with a previous host's file: read again.
                await timer.WaitForNextTickAsync(cancellationToken);
            }
        }
    }

    private static string Canonical(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
