using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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

namespace Jiniac.Bench;

/// <summary>
/// The orchestrator under load: one stage of <c>--shards</c> tiny shards (in sources of at most 1,000) through the
/// ingest → tokenize bookkeeping, then a training that saves <c>--checkpoints</c> checkpoints, each evaluated.
/// The orchestrator is the real one (grains, storage, journal, bus); the workers are scripted in this process and
/// answer each command at once with the events a worker reports, so what is measured is the orchestrator keeping up:
/// events consumed per second from the first shard event until the stage is Ready, and the latency from publishing
/// CheckpointSaved to the evaluator receiving its EvaluateCheckpoint (one checkpoint at a time, on an idle stage).
/// </summary>
public static class OrchestratorLoadBench
{
    public const int ShardsPerSource = 1_000;

    public sealed record Settings
    {
        public int Shards { get; init; } = 100_000;
        public int Checkpoints { get; init; } = 200;
        public string Bus { get; init; } = "memory";
        public string? RabbitMq { get; init; }
        public string? Redis { get; init; }
        public string? StateDir { get; init; }
        public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
    }

    /// <summary>
    /// Events are the bookkeeping facts the orchestrator takes in: each shard ingested and tokenized, each source asked for
    /// and done (2 × shards + 2 × sources), however many messages carried them. Messages are the worker messages it consumed:
    /// a ShardIngested per shard, a SourceIngested per source and a ShardsTokenized per TokenizeShards command.
    /// </summary>
    public sealed record Result(int Shards, int Sources, long Events, long Messages, double Seconds, double EventsPerSecond,
        double LatencyP50Ms, double LatencyP99Ms, double LatencyMaxMs, int TokenizeCommands, int TokenizedShards, int EvaluateCommands, StageView Stage, long JournalEntries);

    public static async Task<int> RunAsync(ReadOnlyMemory<string> arguments, TextWriter output, TextWriter error)
    {
        var settings = new Settings();
        var args = arguments.Span;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--shards": settings = settings with { Shards = int.Parse(value, CultureInfo.InvariantCulture) }; i++; break;
                case "--checkpoints": settings = settings with { Checkpoints = int.Parse(value, CultureInfo.InvariantCulture) }; i++; break;
                case "--bus": settings = settings with { Bus = value }; i++; break;
                case "--rabbitmq": settings = settings with { RabbitMq = value }; i++; break;
                case "--redis": settings = settings with { Redis = value }; i++; break;
                case "--state": settings = settings with { StateDir = value }; i++; break;
                default:
                    error.WriteLine($"orchestrator-load: unknown argument '{args[i]}'");
                    return 2;
            }
        }

        if (settings.Bus is not ("memory" or "rabbitmq") || settings.Shards < 2 || settings.Checkpoints < 1
            || (settings.Bus == "rabbitmq" && (settings.RabbitMq is null || settings.Redis is null)))
        {
            error.WriteLine("orchestrator-load: --bus memory|rabbitmq (rabbitmq needs --rabbitmq URI and --redis HOST:PORT), --shards >= 2, --checkpoints >= 1");
            return 2;
        }

        // The reference, from the same run and disk: how fast one fsync'd small write is here now (every durable step of
        // the orchestrator ends in one; the machine is shared, so this moves with its load).
        var fsyncMs = SerialFsyncMilliseconds(settings.StateDir ?? Path.GetTempPath(), 200);
        var result = await MeasureAsync(settings, CancellationToken.None);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reference: serial fsync of a 300-byte file {fsyncMs:F2} ms ({1000 / fsyncMs:F0}/s); orchestrator events per serial fsync: {result.EventsPerSecond * fsyncMs / 1000:F2}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"orchestrator-load bus={settings.Bus} shards={result.Shards} sources={result.Sources} events={result.Events} seconds={result.Seconds:F2} events/s={result.EventsPerSecond:F0}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"messages consumed={result.Messages} ({result.Messages / result.Seconds:F0}/s); tokenize commands={result.TokenizeCommands} for {result.TokenizedShards} shards ({(double)result.TokenizedShards / result.TokenizeCommands:F1} a command)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"checkpoint-saved -> evaluate-checkpoint latency over {settings.Checkpoints}: p50={result.LatencyP50Ms:F1} ms p99={result.LatencyP99Ms:F1} ms max={result.LatencyMaxMs:F1} ms"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stage: {result.Stage.Status}, {result.Stage.ShardsTokenized}/{result.Stage.ShardsTotal} shards tokenized, {result.Stage.SourcesDone}/{result.Stage.SourcesTotal} sources; journal {result.JournalEntries} entries"));
        return 0;
    }

    public static async Task<Result> MeasureAsync(Settings settings, CancellationToken cancellationToken)
    {
        var runId = "load-" + Guid.NewGuid().ToString("n")[..12];
        var stateDir = settings.StateDir ?? Path.Combine(Path.GetTempPath(), "jiniac-load-" + Guid.NewGuid().ToString("n"));
        var load = new LoadWorkers(settings.Shards, settings.Checkpoints) { RunId = runId };
        var app = await StartAsync(settings, stateDir, load);
        try
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            var submitted = await grains.GetGrain<IRunGrain>(runId).SubmitAsync(Spec(runId, load.Sources));
            if (submitted.Error is not null)
            {
                throw new InvalidOperationException($"submit: {submitted.Error}");
            }

            await load.Launched.Task.WaitAsync(settings.Timeout, cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(load.FirstShardEvent, load.LaunchedAt).TotalSeconds;
            var events = (2L * settings.Shards) + (2L * load.Sources);
            await load.Evaluated.Task.WaitAsync(settings.Timeout, cancellationToken);
            var latencies = load.Latencies.Order().ToArray();
            var stage = await grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, "load")).GetViewAsync();
            if (stage.ShardsTokenized != settings.Shards || stage.Status != "Training")
            {
                // A figure is only reported for a run whose bookkeeping came out whole.
                throw new InvalidOperationException($"the stage ended {stage.Status} with {stage.ShardsTokenized}/{settings.Shards} shards tokenized: no figure");
            }

            var journal = await grains.GetGrain<IJournalGrain>(runId).CountAsync();
            var messages = settings.Shards + load.Sources + load.TokenizeCommands;
            return new Result(settings.Shards, load.Sources, events, messages, seconds, events / seconds,
                Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1],
                load.TokenizeCommands, load.TokenizedShards, latencies.Length, stage, journal);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            if (settings.StateDir is null && Directory.Exists(stateDir))
            {
                Directory.Delete(stateDir, recursive: true);
            }
        }
    }

    private static double SerialFsyncMilliseconds(string dir, int count)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"fsync-probe-{Environment.ProcessId}.tmp");
        var payload = new byte[300];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
            stream.Write(payload);
            stream.Flush(flushToDisk: true);
        }

        File.Delete(path);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds / count;
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static PipelineSpec Spec(string name, int sources) => new()
    {
        Name = name,
        Tokenizer = new TokenizerSpec { Train = new TokenizerTrainingSpec { VocabSize = 512 } },
        Model = new ModelSpec { HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositionEmbeddings = 128 },
        Training = new TrainingSpec { SeqLength = 64, MicroBatchSize = 2, LearningRate = 1e-3 },
        Evaluation = new EvaluationSpec { EveryNCheckpoints = 1 },
        Stages =
        [
            new StageSpec
            {
                Name = "load",
                TokenBudget = 1_000_000,
                Sources = [.. Enumerable.Range(0, sources).Select(i => new SourceSpec { Name = $"s{i:D4}", Paths = [$"/nonexistent/load/{i}"] })],
            },
        ],
    };

    private static async Task<WebApplication> StartAsync(Settings settings, string stateDir, LoadWorkers load)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory, EnvironmentName = Environments.Production });
        var config = new Dictionary<string, string?>
        {
            ["Jiniac:StateDir"] = stateDir,
            ["Control:Url"] = "http://127.0.0.1:0",
        };
        if (settings.Bus == "rabbitmq")
        {
            config["Jiniac:Topology"] = nameof(Topology.Distributed);
            config["Jiniac:RabbitMq"] = settings.RabbitMq;
            config["Jiniac:Redis"] = settings.Redis;
            config["Orchestrator:ClusterId"] = "load-" + Guid.NewGuid().ToString("n");
            config["Orchestrator:SiloPort"] = "11391";
            config["Orchestrator:GatewayPort"] = "30391";
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.ClearProviders();
        builder.AddJiniacDefaults();
        builder.AddOrchestratorService();
        builder.Services.AddSingleton(load);
        var registry = builder.Services.BusRegistry();
        registry.AddEndpoint(Queues.Ingest, 4, typeof(LoadIngest));
        registry.AddEndpoint(Queues.Tokenize, 16, typeof(LoadTokenize));
        registry.AddEndpoint(Queues.TrainLauncher, 1, typeof(LoadTrainer));
        registry.AddEndpoint(Queues.Evaluator, 4, typeof(LoadEvaluator));
        builder.AddJiniacBus();
        var app = builder.Build();
        app.MapOrchestrator();
        LogContext.Current = null;
        await app.StartAsync();
        return app;
    }

    /// <summary>The scripted workers' shared state: what to report, and the timestamps measured.</summary>
    public sealed class LoadWorkers(int shards, int checkpoints)
    {
        private int _tokenize;
        private int _tokenizedShards;
        private long _first;

        public int Shards { get; } = shards;
        public int Checkpoints { get; } = checkpoints;
        public int Sources { get; } = (shards + ShardsPerSource - 1) / ShardsPerSource;
        public int TokenizeCommands => Volatile.Read(ref _tokenize);
        public int TokenizedShards => Volatile.Read(ref _tokenizedShards);
        public long FirstShardEvent => Volatile.Read(ref _first);
        public long LaunchedAt { get; set; }

        /// <summary>
        /// This measurement's run. On a broker vhost used before, queues can still hold an earlier run's commands (an
        /// unconsumed LaunchTraining once stopped a run's clock early); the scripted workers answer only their own run.
        /// </summary>
        public string RunId { get; init; } = "";

        public bool Mine(string runId) => string.Equals(runId, RunId, StringComparison.Ordinal);
        public TaskCompletionSource Launched { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Evaluated { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ConcurrentDictionary<long, (long SavedAt, TaskCompletionSource Received)> Pending { get; } = new();
        public ConcurrentBag<double> Latencies { get; } = [];

        public void MarkFirst() => Interlocked.CompareExchange(ref _first, Stopwatch.GetTimestamp(), 0);

        public void CountTokenize(int shards)
        {
            Interlocked.Increment(ref _tokenize);
            Interlocked.Add(ref _tokenizedShards, shards);
        }

        public IReadOnlyList<IngestedShard> ShardsOf(string runId, int source)
        {
            var count = Math.Min(ShardsPerSource, Shards - (source * ShardsPerSource));
            var result = new IngestedShard[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = new IngestedShard
                {
                    ShardKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{runId}/{source}/{i}"))),
                    Blob = $"runs/{runId}/load/ingest/s{source:D4}/{i:D5}.jsonl.gz",
                    // One held-out shard per source, so the stage has evaluation data.
                    Split = i == 0 ? SplitNames.Eval : SplitNames.Train,
                    Records = 1,
                    TextBytes = 100,
                };
            }

            return result;
        }
    }

    public sealed class LoadIngest(LoadWorkers load) : IConsumer<IngestSource>
    {
        public async Task Consume(ConsumeContext<IngestSource> context)
        {
            var m = context.Message;
            if (!load.Mine(m.RunId))
            {
                return;
            }

            var source = int.Parse(m.Source.Name.AsSpan(1), CultureInfo.InvariantCulture);
            var shards = load.ShardsOf(m.RunId, source);
            load.MarkFirst();
            // As an ingest worker does: a ShardIngested per shard as it is written, SourceIngested at the end.
            for (var i = 0; i < shards.Count; i += 100)
            {
                var tasks = new List<Task>(100);
                for (var j = i; j < Math.Min(shards.Count, i + 100); j++)
                {
                    tasks.Add(context.Publish(new ShardIngested { RunId = m.RunId, Stage = m.Stage, Source = m.Source.Name, Attempt = m.Attempt, Shard = shards[j] }, context.CancellationToken));
                }

                await Task.WhenAll(tasks);
            }

            await context.Publish(new SourceIngested
            {
                RunId = m.RunId, Stage = m.Stage, Source = m.Source.Name, Attempt = m.Attempt, Shards = shards,
                RecordsIn = shards.Count, RecordsOut = shards.Count, Duplicates = 0, Quarantined = 0, BytesOut = 100L * shards.Count,
                ReportBlob = $"runs/{m.RunId}/load/ingest/{m.Source.Name}/report.json",
            }, context.CancellationToken);
        }
    }

    public sealed class LoadTokenize(LoadWorkers load) : IConsumer<TrainTokenizer>, IConsumer<TokenizeShards>
    {
        public Task Consume(ConsumeContext<TrainTokenizer> context) => !load.Mine(context.Message.RunId) ? Task.CompletedTask : context.Publish(new TokenizerReady
        {
            RunId = context.Message.RunId, TokenizerBlob = $"runs/{context.Message.RunId}/tokenizer/tokenizer.json",
            TokenizerHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(context.Message.RunId))), VocabSize = 512, EodTokenId = 0,
        }, context.CancellationToken);

        public Task Consume(ConsumeContext<TokenizeShards> context)
        {
            var m = context.Message;
            if (!load.Mine(m.RunId))
            {
                return Task.CompletedTask;
            }

            load.CountTokenize(m.Shards.Count);
            return context.Publish(new ShardsTokenized
            {
                RunId = m.RunId, Stage = m.Stage, TokenizerHash = m.TokenizerHash,
                Shards = [.. m.Shards.Select(s => new TokenizedShard { ShardKey = s.ShardKey, Prefix = $"tokenized/{m.TokenizerHash[..8]}/{s.ShardKey}", Documents = 1, Tokens = 25 })],
            }, context.CancellationToken);
        }
    }

    public sealed class LoadTrainer(LoadWorkers load, IBus bus) : IConsumer<LaunchTraining>
    {
        public async Task Consume(ConsumeContext<LaunchTraining> context)
        {
            if (!load.Mine(context.Message.RunId))
            {
                return;
            }

            load.LaunchedAt = Stopwatch.GetTimestamp();
            load.Launched.TrySetResult();
            var m = context.Message;
            await context.Publish(new TrainingStarted { RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, JobId = "load", Backend = "scripted", TotalSteps = load.Checkpoints, Restart = 0 }, context.CancellationToken);
            // A training job takes hours; its checkpoints come one by one, so each is timed on its own.
            _ = Task.Run(async () =>
            {
                for (long step = 1; step <= load.Checkpoints; step++)
                {
                    var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    load.Pending[step] = (Stopwatch.GetTimestamp(), received);
                    await bus.Publish(new CheckpointSaved { RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, Step = step, Tokens = step * 1_000, Loss = 3.0, Folder = $"/checkpoints/{m.RunId}/iter_{step:D7}", Bytes = 1 });
                    await received.Task;
                }

                load.Evaluated.TrySetResult();
            });
        }
    }

    public sealed class LoadEvaluator(LoadWorkers load) : IConsumer<EvaluateCheckpoint>
    {
        public Task Consume(ConsumeContext<EvaluateCheckpoint> context)
        {
            if (load.Mine(context.Message.RunId) && load.Pending.TryGetValue(context.Message.Step, out var pending))
            {
                load.Latencies.Add(Stopwatch.GetElapsedTime(pending.SavedAt).TotalMilliseconds);
                pending.Received.TrySetResult();
            }

            return Task.CompletedTask;
        }
    }
}
