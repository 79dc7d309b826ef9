using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Grpc.Integrations.V1;
using Jiniac.Integrations.Tests;
using ApiKeyRing = Jiniac.Orchestrator.Control.ApiKeyRing;
using Xunit.Abstractions;
using Cli = Jiniac.EndToEnd.Tests.Jiniac;
using TinyCorpus = Jiniac.EndToEnd.Tests.TinyCorpus;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// The distributed topology end to end: every service its own process (infra/platform/start.sh) on the real RabbitMQ,
/// Redis and Azurite, driven through the gRPC control API, against the same pipeline run by the embedded `jiniac run`
/// at the same time — and both must come out the same, to the last bit of every loss.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DistributedPipelineTests(RabbitMqServer rabbit, ITestOutputHelper output) : IDisposable
{
    private readonly TestDir _dir = new("jiniac-platform-");

    [Fact]
    public async Task A_curriculum_run_by_separate_processes_on_RabbitMQ_Redis_and_Azurite_ends_as_the_embedded_run_does()
    {
        _ = rabbit; // started by the collection fixture; start.sh finds it running
        var name = "dist-" + Guid.NewGuid().ToString("n")[..10]; // a run id of its own in the shared Redis
        var pipeline = WritePipeline(_dir.Path, name, enBudget: 12_800, jaBudget: 6_400);

        var embedded = RunEmbeddedAsync(pipeline, Path.Combine(_dir.Path, "embedded"));

        // The orchestrator as it runs on a network: API keys, and the RabbitMQ `jiniac.events` and webhook sinks on.
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Secrets["dist"] = "distributed-webhook-secret";
        await using var amqp = await CheckpointQueue.BindAsync(rabbit.Address, name);
        var settings = new Dictionary<string, string>
        {
            ["Control__ApiKeys__viewer__Hash"] = ApiKeyRing.HashOf(ViewerKey),
            ["Control__ApiKeys__viewer__Role"] = "viewer",
            ["Control__ApiKeys__ops__Hash"] = ApiKeyRing.HashOf(OperatorKey),
            ["Control__ApiKeys__ops__Role"] = "operator",
            ["Integrations__RabbitMq__Url"] = rabbit.Address,
            ["Integrations__RabbitMq__Events__0"] = "CheckpointSaved",
        };
        await using var platform = await Platform.StartAsync(Path.Combine(_dir.Path, "platform"), silos: 1, settings, apiKey: OperatorKey);
        var webhooks = new WebhookService.WebhookServiceClient(platform.CallsWith(OperatorKey));
        await webhooks.CreateSubscriptionAsync(new CreateSubscriptionRequest { Id = "dist", Url = receiver.Url("dist"), EventTypes = { "CheckpointSaved" }, Secret = receiver.Secrets["dist"], RunId = name });
        var submitted = await platform.Control.SubmitRunAsync(new SubmitRunRequest { PipelinePath = pipeline });
        Assert.True(submitted.Created);
        var run = await WaitForEndAsync(platform, name, TimeSpan.FromMinutes(6));

        var expected = RunSummary.Of(await embedded);
        var actual = RunSummary.Of(run);
        output.WriteLine(string.Join('\n', actual));
        Assert.Equal(string.Join('\n', expected), string.Join('\n', actual));
        Assert.Equal("run Completed", actual[0]);
        Assert.Contains(actual, l => l.StartsWith("  published", StringComparison.Ordinal));

        // The checkpoints are on the shared filesystem, the published revisions in its local hub.
        foreach (var checkpoint in run.Stages.SelectMany(s => s.Checkpoints))
        {
            Assert.StartsWith(platform.SharedDir, checkpoint.Folder, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(checkpoint.Folder, "model.safetensors")), checkpoint.Folder);
        }

        // The journal (in Redis) is dense from 0, read through the control API as an operator would.
        var entries = await JournalAsync(platform.Control, name);
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
        foreach (var type in new[] { "RunSubmitted", "TokenizerReady", "ShardIngested", "ShardsTokenized", "TrainingStarted", "CheckpointSaved", "EvaluationCompleted", "ModelPublished", "RunStatusChanged" })
        {
            Assert.Contains(entries, e => e.Type == type);
        }

        // The keys' roles: a viewer reads the run and its journal, and is refused a replay; no key is refused everything.
        var viewer = new ControlService.ControlServiceClient(platform.CallsWith(ViewerKey));
        Assert.Equal("Completed", (await viewer.GetRunAsync(new GetRunRequest { RunId = name })).Status);
        Assert.Equal(entries.Select(e => e.Sequence), (await JournalAsync(viewer, name)).Select(e => e.Sequence));
        var replay = await Assert.ThrowsAsync<RpcException>(() => viewer.ReplayStageAsync(new ReplayStageRequest { RunId = name, Stage = run.Stages[0].Name }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, replay.StatusCode);
        var anonymous = new ControlService.ControlServiceClient(platform.CallsWith(null));
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => anonymous.GetRunAsync(new GetRunRequest { RunId = name }).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => JournalAsync(anonymous, name))).StatusCode);

        // The sinks (their cursors in Redis grain state) deliver every CheckpointSaved of the run: signed to the
        // webhook, on the topic exchange to a queue bound by routing key.
        var checkpoints = entries.Where(e => e.Type == "CheckpointSaved").Select(e => e.Sequence).ToList();
        Assert.NotEmpty(checkpoints);
        using (var everyRun = viewer.WatchEvents(new WatchEventsRequest { Types_ = { "CheckpointSaved" } }))
        {
            var watched = new List<JournalEntry>();
            await foreach (var entry in everyRun.ResponseStream.ReadAllAsync())
            {
                watched.Add(entry);
            }

            Assert.Equal(checkpoints, watched.Where(e => e.RunId == name).Select(e => e.Sequence)); // the all-runs watch, from Redis
        }

        var published = await amqp.ReceiveAsync(checkpoints.Count, TimeSpan.FromMinutes(1));
        Assert.Equal(checkpoints, published);
        var sinkDeadline = Stopwatch.StartNew();
        while (receiver.Accepted("dist").Select(r => r.Cursor).Distinct().Count() < checkpoints.Count)
        {
            Assert.True(sinkDeadline.Elapsed < TimeSpan.FromMinutes(1), $"webhook got {receiver.Of("dist").Count} requests, want {checkpoints.Count} checkpoints\n{Logs(platform)}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        Assert.Equal(checkpoints, receiver.Accepted("dist").Select(r => r.Cursor).Distinct().Order());
        Assert.All(receiver.Of("dist"), r => Assert.True(r.SignatureValid && r.Type == "CheckpointSaved" && r.Run == name, r.ToString()));

        // Nothing went to an error queue of this platform's vhost.
        var errors = await ErrorQueuesAsync(platform.RabbitVhost);
        Assert.True(errors.Count == 0, $"messages in error queues: {string.Join(", ", errors)}\n{Faults(platform)}");
    }

    private const string ViewerKey = "distributed-viewer-key";
    private const string OperatorKey = "distributed-operator-key";

    internal static string WritePipeline(string dir, string name, long enBudget, long jaBudget)
    {
        TinyCorpus.Write(dir);
        var pipeline = Path.Combine(dir, "pipeline.yaml");
        File.WriteAllText(pipeline, TinyCorpus.Pipeline(name, enBudget, jaBudget));
        return pipeline;
    }

    /// <summary>The same pipeline through `jiniac run` in one process; its `status --json` when it is done.</summary>
    internal static async Task<JsonElement> RunEmbeddedAsync(string pipeline, string state)
    {
        var dir = Path.GetDirectoryName(pipeline)!;
        var run = await Cli.RunAsync(dir, TimeSpan.FromMinutes(8), "run", pipeline, "--state-dir", state, "--plain");
        Assert.True(run.ExitCode == 0, run.ToString());
        var name = Path.GetFileName(Directory.GetDirectories(Path.Combine(state, "runs")).Single());
        var status = await Cli.RunAsync(dir, TimeSpan.FromMinutes(2), "status", name, "--json", "--state-dir", state);
        Assert.True(status.ExitCode == 0, status.ToString());
        return JsonDocument.Parse(status.Stdout).RootElement.Clone();
    }

    /// <param name="whileWaiting">Called between polls with the last view read (null: the control API did not answer).</param>
    internal static async Task<RunView> WaitForEndAsync(Platform platform, string runId, TimeSpan timeout, Func<RunView?, Task>? whileWaiting = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            RunView? view = null;
            try
            {
                view = await platform.Control.GetRunAsync(new GetRunRequest { RunId = runId }, deadline: DateTime.UtcNow.AddSeconds(20));
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown)
            {
                // The silo serving the control API is being killed or restarted (chaos); ask again.
            }

            if (view?.Status is "Completed" or "Failed" or "Cancelled")
            {
                return view;
            }

            Assert.True(deadline.Elapsed < timeout, $"run {runId} not finished after {timeout}: {view}\n{Logs(platform)}");
            if (whileWaiting is not null)
            {
                await whileWaiting(view);
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
    }

    internal static async Task<List<JournalEntry>> JournalAsync(ControlService.ControlServiceClient client, string runId)
    {
        var entries = new List<JournalEntry>();
        using var call = client.WatchEvents(new WatchEventsRequest { RunId = runId, From = 0, Follow = false });
        await foreach (var entry in call.ResponseStream.ReadAllAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>Error queues of the vhost with their messages: queue → messages ready.</summary>
    internal static Task<Dictionary<string, int>> ErrorQueuesAsync(string vhost) => QueuesEndingAsync(vhost, "_error");

    /// <summary>Queues of the vhost whose name ends so (`_error`, or a redelivery's parking queue), with messages: queue → messages ready.</summary>
    internal static async Task<Dictionary<string, int>> QueuesEndingAsync(string vhost, string suffix) =>
        (await RabbitVhost.QueuesOfAsync(vhost)).Where(q => q.Key.EndsWith(suffix, StringComparison.Ordinal) && q.Value.Ready > 0)
            .ToDictionary(q => q.Key, q => q.Value.Ready, StringComparer.Ordinal);

    /// <summary>
    /// Waits until no queue of the vhost but the error queues holds a message, ready or taken, twice in a row half a
    /// second apart: every event consumed, parked redeliveries included. A run can end while an event's other consumer
    /// (the journal's) still retries after a failover, so the journal is read once the bus has settled. Fails after
    /// <paramref name="timeout"/>, naming the queues still busy.
    /// </summary>
    internal static async Task SettledAsync(string vhost, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var quiet = 0;
        IEnumerable<string> busy = [];
        while (DateTime.UtcNow < deadline)
        {
            busy = (await RabbitVhost.QueuesOfAsync(vhost))
                .Where(q => !q.Key.EndsWith("_error", StringComparison.Ordinal) && q.Value.Ready + q.Value.Unacked > 0)
                .Select(q => $"{q.Key}={q.Value.Ready}+{q.Value.Unacked}").ToList();
            quiet = busy.Any() ? 0 : quiet + 1;
            if (quiet == 2)
            {
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail($"the bus did not settle within {timeout}: {string.Join(", ", busy)}");
    }

    /// <summary>Every logged failure of every service (MassTransit logs a consumer's fault before the message goes to its _error queue).</summary>
    internal static string Faults(Platform platform) =>
        string.Join('\n', platform.Services.SelectMany(s => platform.LogOf(s).Split('\n')
            .Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.Contains("R-FAULT", StringComparison.Ordinal))
            .Select(l => $"{s}: {(l.Length > 600 ? l[..600] : l)}")));

    internal static string Logs(Platform platform) =>
        string.Join('\n', platform.Services.Select(s => $"--- {s} (last lines)\n" + string.Join('\n', platform.LogOf(s).Split('\n').TakeLast(15))));

    public void Dispose() => _dir.Dispose();
}
