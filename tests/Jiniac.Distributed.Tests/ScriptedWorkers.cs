using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts;
using MassTransit;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// Plays every worker service for a test run against the real orchestrator: each command is answered with the events
/// a worker reports for it (deterministic contents, so a second answer is the same fact). Each event can be published
/// more than once with the same message id (what a broker redelivery looks like), and the copies are interleaved
/// with the following events, so the orchestrator sees duplicates out of order. Every event and command is kept.
/// </summary>
public sealed class ScriptedWorkers
{
    /// <summary>How many times each event is published (1: once; 2: every event twice).</summary>
    public int Copies { get; set; } = 1;

    /// <summary>Shards per source, of which the last is held out (eval).</summary>
    public int ShardsPerSource { get; set; } = 5;

    public ConcurrentQueue<(Guid MessageId, object Event)> Published { get; } = new();

    public ConcurrentQueue<object> Commands { get; } = new();

    public List<T> CommandsOf<T>() => [.. Commands.OfType<T>()];

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public IReadOnlyList<IngestedShard> ShardsOf(string runId, string stage, string source) =>
        [.. Enumerable.Range(0, ShardsPerSource).Select(i => new IngestedShard
        {
            ShardKey = Hash($"{runId}/{stage}/{source}/{i}"),
            Blob = $"runs/{runId}/{stage}/ingest/{source}/{i:D5}.jsonl.gz",
            Split = i == ShardsPerSource - 1 ? SplitNames.Eval : SplitNames.Train,
            Records = 10,
            TextBytes = 1_000 + i,
        })];

    /// <summary>
    /// Publishes the events in order, each <see cref="Copies"/> times with one message id: a copy goes out after the
    /// next event's first, so every duplicate is also late.
    /// </summary>
    public async Task ReportAsync(IPublishEndpoint bus, CancellationToken cancellationToken, params object[] events)
    {
        var ids = events.Select(_ => NewId.NextGuid()).ToArray();
        var order = new List<(int Index, int Copy)>();
        for (var i = 0; i < events.Length; i++)
        {
            order.Add((i, 0));
            for (var copy = 1; copy < Copies; copy++)
            {
                order.Add((i, copy));
            }
        }

        // Move every copy after the next event's first delivery.
        order = [.. order.Select((o, position) => (o, key: o.Copy == 0 ? position : position + Copies + 0.5)).OrderBy(x => x.key).Select(x => x.o)];
        foreach (var (index, copy) in order)
        {
            if (copy == 0)
            {
                Published.Enqueue((ids[index], events[index]));
            }

            await bus.Publish(events[index], events[index].GetType(), context => context.MessageId = ids[index], cancellationToken);
        }
    }

    /// <summary>Publishes a captured event again with its original message id.</summary>
    public static Task ReplayAsync(IPublishEndpoint bus, Guid messageId, object message) =>
        bus.Publish(message, message.GetType(), context => context.MessageId = messageId);
}

public sealed class ScriptedIngest(ScriptedWorkers workers) : IConsumer<IngestSource>
{
    public Task Consume(ConsumeContext<IngestSource> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        var shards = workers.ShardsOf(m.RunId, m.Stage, m.Source.Name);
        var events = new List<object>();
        events.AddRange(shards.Select(s => new ShardIngested { RunId = m.RunId, Stage = m.Stage, Source = m.Source.Name, Attempt = m.Attempt, Shard = s }));
        events.Add(new RecordsQuarantined
        {
            RunId = m.RunId, Stage = m.Stage, Source = m.Source.Name, Attempt = m.Attempt, Count = 2,
            QuarantineBlob = $"runs/{m.RunId}/{m.Stage}/ingest/{m.Source.Name}/quarantine.jsonl", Reasons = new Dictionary<string, long> { ["invalid-json"] = 2 },
        });
        events.Add(new SourceIngested
        {
            RunId = m.RunId, Stage = m.Stage, Source = m.Source.Name, Attempt = m.Attempt, Shards = shards,
            RecordsIn = 10L * shards.Count + 5, RecordsOut = 10L * shards.Count, Duplicates = 3, Quarantined = 2, BytesOut = shards.Sum(s => s.TextBytes),
            ReportBlob = $"runs/{m.RunId}/{m.Stage}/ingest/{m.Source.Name}/report.json",
        });
        return workers.ReportAsync(context, context.CancellationToken, [.. events]);
    }
}

public sealed class ScriptedTokenize(ScriptedWorkers workers) : IConsumer<TrainTokenizer>, IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TrainTokenizer> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        return workers.ReportAsync(context, context.CancellationToken, new TokenizerReady
        {
            RunId = m.RunId, TokenizerBlob = $"runs/{m.RunId}/tokenizer/tokenizer.json", TokenizerHash = ScriptedWorkers.Hash(m.RunId + "/tokenizer"),
            VocabSize = m.Settings.VocabSize, EodTokenId = 0,
        });
    }

    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        return workers.ReportAsync(context, context.CancellationToken, new ShardsTokenized
        {
            RunId = m.RunId, Stage = m.Stage, TokenizerHash = m.TokenizerHash,
            Shards = [.. m.Shards.Select(s => new TokenizedShard { ShardKey = s.ShardKey, Prefix = $"tokenized/{m.TokenizerHash[..8]}/{s.ShardKey}", Documents = 10, Tokens = 1_000 })],
        });
    }
}

public sealed class ScriptedTrainer(ScriptedWorkers workers) : IConsumer<LaunchTraining>, IConsumer<StopTraining>, IConsumer<PruneCheckpoints>
{
    public Task Consume(ConsumeContext<LaunchTraining> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        var folder = (long step) => $"/checkpoints/{m.RunId}/{m.Stage}/iter_{step:D7}";
        var events = new List<object>
        {
            new TrainingStarted { RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, JobId = $"job-{m.Stage}-{m.Attempt}", Backend = "scripted", TotalSteps = 30, Restart = 0 },
        };
        foreach (var step in new long[] { 10, 20, 30 })
        {
            events.Add(new TrainingProgressed
            {
                RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, Step = step, TotalSteps = 30, Tokens = step * 100, Loss = 5.0 - (step / 10.0),
                LearningRate = 1e-3, GradNorm = 1, TokensPerSecond = 1_000,
            });
            events.Add(new CheckpointSaved { RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, Step = step, Tokens = step * 100, Loss = 5.0 - (step / 10.0), Folder = folder(step), Bytes = 4_096 });
        }

        events.Add(new TrainingCompleted { RunId = m.RunId, Stage = m.Stage, Attempt = m.Attempt, FinalStep = 30, Tokens = 3_000, FinalLoss = 2.0, CheckpointFolder = folder(30) });
        return workers.ReportAsync(context, context.CancellationToken, [.. events]);
    }

    public Task Consume(ConsumeContext<StopTraining> context)
    {
        workers.Commands.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<PruneCheckpoints> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        return workers.ReportAsync(context, context.CancellationToken, new CheckpointsDeleted { RunId = m.RunId, Stage = m.Stage, Steps = m.Steps });
    }
}

public sealed class ScriptedEvaluator(ScriptedWorkers workers) : IConsumer<EvaluateCheckpoint>
{
    public Task Consume(ConsumeContext<EvaluateCheckpoint> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        return workers.ReportAsync(context, context.CancellationToken, new EvaluationCompleted
        {
            RunId = m.RunId, Stage = m.Stage, Step = m.Step,
            Results = [.. m.Sets.Select(s => new DomainEvaluation { Domain = s.Domain, Tokens = 100, TextBytes = s.TextBytes, Loss = 2.5, Perplexity = Math.Exp(2.5), BitsPerByte = 1.2 })],
        });
    }
}

public sealed class ScriptedPublisher(ScriptedWorkers workers) : IConsumer<PublishModel>
{
    public Task Consume(ConsumeContext<PublishModel> context)
    {
        var m = context.Message;
        workers.Commands.Enqueue(m);
        return workers.ReportAsync(context, context.CancellationToken, new ModelPublished
        {
            RunId = m.RunId, Stage = m.Stage, Step = m.Step, Repo = m.Target.Repo, Revision = ScriptedWorkers.Hash($"{m.RunId}/{m.Stage}/{m.Step}")[..40],
            Folder = m.CheckpointFolder, Created = true,
        });
    }
}
