using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.Orchestrator;
using Jiniac.Orchestrator.Grains;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// At-least-once delivery, on the real RabbitMQ and Redis: every event of a run is delivered twice (same message id,
/// the copy late, behind the next event), and once the run is done every event is delivered again, shuffled. The
/// orchestrator must end where a run with single delivery ends — one command per unit of work, one journal entry per
/// event — and the replay must change no grain state and no journal entry.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DuplicateDeliveryTests(RabbitMqServer rabbit, RedisServer redis)
{
    private static readonly string[] WorkerEvents =
    [
        nameof(ShardIngested), nameof(SourceIngested), nameof(RecordsQuarantined), nameof(TokenizerReady), nameof(ShardsTokenized),
        nameof(TrainingStarted), nameof(TrainingProgressed), nameof(CheckpointSaved), nameof(TrainingCompleted),
        nameof(EvaluationCompleted), nameof(ModelPublished), nameof(CheckpointsDeleted),
    ];

    [Fact]
    public async Task Every_event_delivered_twice_and_out_of_order_then_replayed_leaves_grain_state_and_journal_as_single_delivery_would()
    {
        var runId = "dup-" + Guid.NewGuid().ToString("n")[..12];
        // A vhost of its own: an earlier run's failed command, parked in a `_delay_*` queue, would come back mid-test.
        await using var vhost = await rabbit.VhostAsync("dup");
        await using var host = await StartAsync(vhost, "t-" + Guid.NewGuid().ToString("n"));
        var workers = host.Services.GetRequiredService<ScriptedWorkers>();
        workers.Copies = 2;
        var grains = host.Services.GetRequiredService<IGrainFactory>();

        Assert.Null((await grains.GetGrain<IRunGrain>(runId).SubmitAsync(Spec(runId))).Error);
        var done = await Until(() => grains.GetGrain<IRunGrain>(runId).GetViewAsync(), v => v?.Status is "Completed" or "Failed", "the run to finish");
        Assert.True(done!.Status == "Completed", $"run {done.Status}: {done.Reason}");

        // One command per unit of work, although every event that caused one came twice.
        var shards = workers.ShardsOf(runId, "en", "stories").Concat(workers.ShardsOf(runId, "en", "wiki")).ToList();
        Assert.Equal(2, workers.CommandsOf<IngestSource>().Count);
        Assert.Single(workers.CommandsOf<TrainTokenizer>());
        Assert.Equal(shards.Select(s => s.ShardKey).Order(StringComparer.Ordinal), workers.CommandsOf<TokenizeShards>().SelectMany(c => c.Shards).Select(s => s.ShardKey).Order(StringComparer.Ordinal));
        Assert.Single(workers.CommandsOf<LaunchTraining>());
        Assert.Single(workers.CommandsOf<PublishModel>());
        var evaluated = workers.CommandsOf<EvaluateCheckpoint>().Select(c => c.Step).ToList();
        Assert.Equal(evaluated.Distinct(), evaluated);

        var stage = await grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, "en")).GetViewAsync();
        Assert.Equal((shards.Count, shards.Count, 0, 30L, 2), (stage.ShardsTotal, stage.ShardsTokenized, stage.ShardsFailed, stage.Step, stage.SourcesDone));
        Assert.Equal(2 * ((10L * workers.ShardsPerSource) + 5), stage.RecordsIn);
        Assert.Equal([10L, 20L, 30L], stage.Checkpoints.Select(c => c.Step));

        // The journal holds each event once: as many worker events as were reported, no (type, body) twice.
        var journal = await JournalAsync(grains, runId);
        var reported = workers.Published.Count;
        Assert.True(host.Services.GetRequiredService<OrchestratorDeliveries>().Count >= 2 * reported, "every event was delivered twice");
        Assert.Equal(reported, journal.Count(e => WorkerEvents.Contains(e.Type)));
        Assert.Equal(journal.Count, journal.Select(e => (e.Type, e.Json)).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => (long)i), journal.Select(e => e.Sequence));

        // Everything again, shuffled, after the run is done: nothing may change.
        var before = await SnapshotAsync(grains, runId, shards);
        var commandsBefore = workers.Commands.Count;
        var received = host.Services.GetRequiredService<OrchestratorDeliveries>();
        var receivedBefore = received.Count;
        var replay = workers.Published.ToArray();
        Random.Shared.Shuffle(replay);
        var bus = host.Services.GetRequiredService<IBus>();
        foreach (var (id, message) in replay)
        {
            await ScriptedWorkers.ReplayAsync(bus, id, message);
        }

        await Until(() => Task.FromResult(received.Count), n => n >= receivedBefore + replay.Length, $"{replay.Length} replayed events consumed");
        Assert.Equal(before, await SnapshotAsync(grains, runId, shards));
        Assert.Equal(commandsBefore, workers.Commands.Count);

        // Late failure reports of work that has since succeeded (an earlier attempt's, overtaken): new facts for the
        // journal, but no grain may take them for the current state.
        var grainsBefore = await SnapshotAsync(grains, runId, shards, withJournal: false);
        receivedBefore = received.Count;
        object[] stale =
        [
            new ShardTokenizeFailed { RunId = runId, Stage = "en", ShardKey = shards[0].ShardKey, Reason = "late: an earlier tokenizer run" },
            new IngestFailed { RunId = runId, Stage = "en", Source = "stories", Attempt = 1, Reason = "late: an earlier ingest" },
            new TrainingFailed { RunId = runId, Stage = "en", Attempt = 1, Reason = "late: an earlier trainer", Restarts = 0 },
            new EvaluationFailed { RunId = runId, Stage = "en", Step = 30, Reason = "late: an earlier evaluator" },
            new PublishFailed { RunId = runId, Stage = "en", Step = 30, Reason = "late: an earlier publisher" },
        ];
        foreach (var message in stale)
        {
            await bus.Publish(message, message.GetType());
        }

        await Until(() => Task.FromResult(received.Count), n => n >= receivedBefore + stale.Length, $"{stale.Length} stale events consumed");
        Assert.Equal(grainsBefore, await SnapshotAsync(grains, runId, shards, withJournal: false));
        Assert.Equal(commandsBefore, workers.Commands.Count);
        Assert.Equal(0, received.Faults);
    }

    private static async Task<List<JournalEntryView>> JournalAsync(IGrainFactory grains, string runId) =>
        [.. await grains.GetGrain<IJournalGrain>(runId).ReadAsync(0, int.MaxValue)];

    /// <summary>Every grain the run's events touch, as JSON: the run and stage views, each checkpoint's record, the stage's shard table, and the journal.</summary>
    private static async Task<string> SnapshotAsync(IGrainFactory grains, string runId, IReadOnlyList<IngestedShard> shards, bool withJournal = true)
    {
        var parts = new List<object?>
        {
            await grains.GetGrain<IRunGrain>(runId).GetViewAsync(),
            await grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, "en")).GetViewAsync(),
        };
        foreach (var step in new long[] { 10, 20, 30 })
        {
            parts.Add(await grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(runId, "en", step)).GetAsync());
        }

        var table = await grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, "en")).GetShardsAsync();
        Assert.Equal(shards.Select(s => s.ShardKey).Order(StringComparer.Ordinal), table.Select(s => s.Key));
        parts.Add(table);

        if (withJournal)
        {
            parts.Add(await JournalAsync(grains, runId));
        }

        return JsonSerializer.Serialize(parts, OrchestratorJson.Options);
    }

    private static PipelineSpec Spec(string name) => new()
    {
        Name = name,
        Tokenizer = new TokenizerSpec { Train = new TokenizerTrainingSpec { VocabSize = 512 } },
        Model = new ModelSpec { HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositionEmbeddings = 128 },
        Training = new TrainingSpec { SeqLength = 64, MicroBatchSize = 2, LearningRate = 1e-3 },
        Evaluation = new EvaluationSpec { EveryNCheckpoints = 1 },
        Publish = new PublishSpec { Repo = "test/dup" },
        Stages =
        [
            new StageSpec
            {
                Name = "en",
                TokenBudget = 3_000,
                Sources =
                [
                    new SourceSpec { Name = "stories", Paths = ["/nonexistent/en/stories.jsonl"], Weight = 0.7 },
                    new SourceSpec { Name = "wiki", Paths = ["/nonexistent/en/wiki"], Weight = 0.3, Domain = "encyclopedia" },
                ],
            },
        ],
    };

    private static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < until, $"{what}: not within 90 s (last: {JsonSerializer.Serialize(value, OrchestratorJson.Options)})");
            await Task.Delay(50);
        }
    }

    private async Task<RunningHost> StartAsync(RabbitVhost vhost, string cluster)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jiniac:Topology"] = nameof(Topology.Distributed),
            ["Jiniac:RabbitMq"] = vhost.Address,
            ["Jiniac:Redis"] = redis.Address,
            ["Jiniac:StateDir"] = Path.Combine(Path.GetTempPath(), "jiniac-dup-" + Guid.NewGuid().ToString("n")),
            ["Orchestrator:ClusterId"] = cluster,
            // A deployment of its own in the shared Redis: under the default id, earlier runs' stage reminders (this
            // test's, RedisSiloTests') fire in this silo and re-issue their commands, which the scripted workers answer.
            ["Orchestrator:ServiceId"] = cluster,
            ["Orchestrator:SiloPort"] = "11351",
            ["Orchestrator:GatewayPort"] = "30351",
            ["Control:Url"] = "http://127.0.0.1:0",
        });
        builder.Logging.ClearProviders();
        builder.AddJiniacDefaults();
        builder.AddOrchestratorService();
        builder.Services.AddSingleton<ScriptedWorkers>();
        builder.Services.AddSingleton<OrchestratorDeliveries>();
        var registry = builder.Services.BusRegistry();
        registry.AddEndpoint(Queues.Ingest, 4, typeof(ScriptedIngest));
        registry.AddEndpoint(Queues.Tokenize, 4, typeof(ScriptedTokenize));
        registry.AddEndpoint(Queues.TrainLauncher, 1, typeof(ScriptedTrainer));
        registry.AddEndpoint(Queues.Evaluator, 1, typeof(ScriptedEvaluator));
        registry.AddEndpoint(Queues.Publisher, 1, typeof(ScriptedPublisher));
        builder.AddJiniacBus();
        var app = builder.Build();
        app.MapOrchestrator();
        // MassTransit keeps its log context in a static set only while null; a disposed host's would be reused.
        LogContext.Current = null;
        await app.StartAsync();
        app.Services.GetRequiredService<IBus>().ConnectReceiveObserver(app.Services.GetRequiredService<OrchestratorDeliveries>());
        return new RunningHost(app);
    }
}

/// <summary>Counts the messages the orchestrator's endpoint has finished with (consumed or faulted).</summary>
public sealed class OrchestratorDeliveries : IReceiveObserver
{
    private int _count;
    private int _faults;

    public int Count => Volatile.Read(ref _count);

    public int Faults => Volatile.Read(ref _faults);

    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context)
    {
        if (context.InputAddress.AbsolutePath.EndsWith("/" + Queues.Orchestrator, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }

        return Task.CompletedTask;
    }

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) where T : class
    {
        Interlocked.Increment(ref _faults);
        return Task.CompletedTask;
    }

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        Interlocked.Increment(ref _faults);
        return Task.CompletedTask;
    }
}
