using System.Diagnostics;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Dashboard;
using Jiniac.Orchestrator.Grains;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// One run of the two-stage curriculum through a real host, its first stage to the end (trained with a rollback, an
/// alert, evaluated, published) and the second training: what the dashboard, trace and metrics tests look at.
/// The tests play the ingest, tokenize and train workers; the evaluator and publisher answer from inside their
/// consume, as the real ones do, so MassTransit carries the trace through them.
/// </summary>
public sealed class DashboardRunFixture : IAsyncLifetime
{
    public const string RunId = "dash";

    /// <summary>The test's own source: the span CheckpointSaved of the final step is published in.</summary>
    public static readonly ActivitySource TestSource = new("Jiniac.Tests.Dashboard");

    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-dash-").FullName;

    public OrchestratorHost Host { get; private set; } = null!;

    public List<Activity> Spans { get; } = [];

    /// <summary>The trace the final checkpoint's CheckpointSaved was published in.</summary>
    public ActivityTraceId FinalCheckpointTrace { get; private set; }

    public string DashboardUrl => Host.App.Services.GetRequiredService<DashboardListener>().Url!;

    public string Dir => _dir;

    public async Task InitializeAsync()
    {
        Host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"),
            new Dictionary<string, string?>
            {
                ["Telemetry:Traces"] = "true",
                ["Telemetry:Metrics"] = "true",
                ["Telemetry:JournalPollInterval"] = "00:00:00.100",
            },
            builder =>
            {
                builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(TestSource.Name).AddInMemoryExporter(Spans));
                builder.Services.BusRegistry()
                    .AddEndpoint(Queues.Evaluator, 1, typeof(AnsweringEvaluator))
                    .AddEndpoint(Queues.Publisher, 1, typeof(AnsweringPublisher));
            });
        await DriveAsync();
    }

    /// <summary>Losses the trainer "reported", in journal order: steps 1–10, a rollback to 8, then 9–12 again.</summary>
    public static IReadOnlyList<(long Step, double Loss, double TokensPerSecond)> Progress { get; } =
    [
        .. Enumerable.Range(1, 10).Select(i => ((long)i, 6.0 * Math.Exp(-0.12 * i) + 0.05 * (i % 3), 900.0 + 37 * i)),
        .. Enumerable.Range(9, 4).Select(i => ((long)i, 5.2 * Math.Exp(-0.12 * i), 1100.0 + 11 * i)),
    ];

    private async Task DriveAsync()
    {
        var s = await Drive.ToFirstStageTrainingAsync(Host, RunId);
        var c = Host.Commands;
        await Drive.SecondStageReadyAsync(Host, s);

        // Each event is journalled before the next goes out, so the journal's order is the trainer's.
        await InOrderAsync(new TrainingStarted { RunId = RunId, Stage = "en", Attempt = 1, JobId = "local-1", Backend = "local", TotalSteps = 12, Restart = 0 });
        foreach (var (step, loss, tps) in Progress.Take(10))
        {
            await InOrderAsync(Progressed(step, loss, tps));
            if (step is 4 or 8)
            {
                await InOrderAsync(new CheckpointSaved { RunId = RunId, Stage = "en", Attempt = 1, Step = step, Tokens = step * 128, Loss = loss, Folder = $"/ckpt/en/{step}" });
            }
        }

        await InOrderAsync(new AlertRaised { RunId = RunId, Stage = "en", Severity = "warning", Kind = TrainingAlertKinds.LossSpike, Message = "loss 1.9 at step 10 is 3.1σ above the window", Attempt = 1, Step = 10 });
        await InOrderAsync(new AlertRaised { RunId = RunId, Stage = "en", Severity = "warning", Kind = TrainingAlertKinds.RolledBack, Message = "rolled back to step 8", Attempt = 1, Step = 8 });
        foreach (var (step, loss, tps) in Progress.Skip(10))
        {
            await InOrderAsync(Progressed(step, loss, tps));
        }

        var final = Progress[^1];
        using (var root = TestSource.StartActivity("final checkpoint saved", ActivityKind.Producer))
        {
            FinalCheckpointTrace = root!.TraceId;
            await InOrderAsync(new CheckpointSaved { RunId = RunId, Stage = "en", Attempt = 1, Step = 12, Tokens = 12 * 128, Loss = final.Loss, Folder = "/ckpt/en/12" });
        }

        // The stage itself has it before training completes (else TrainingCompleted would bring the final checkpoint, in its own trace).
        await Drive.StageView(Host, RunId, "en", v => v.Checkpoints.Any(x => x.Step == 12), "has checkpoint 12");
        await Host.Publish(new TrainingCompleted { RunId = RunId, Stage = "en", Attempt = 1, FinalStep = 12, Tokens = 12 * 128, FinalLoss = final.Loss, CheckpointFolder = "/ckpt/en/12" });
        await Drive.StageView(Host, RunId, "en", v => v.Status == "Completed", "Completed");
        await c.WaitForAsync<LaunchTraining>(x => x.RunId == RunId && x.Stage == "ja");
        await Eventually.Until(() => Host.Grains.GetGrain<IJournalGrain>(RunId).ReadAsync(0, 10_000), e => e.Any(x => x.Type == "ModelPublished"), "ModelPublished journalled");
    }

    private static TrainingProgressed Progressed(long step, double loss, double tps) => new()
    {
        RunId = RunId, Stage = "en", Attempt = 1, Step = step, TotalSteps = 12, Tokens = step * 128, Loss = loss, LearningRate = 1e-3, GradNorm = 0.5, TokensPerSecond = tps,
    };

    private async Task InOrderAsync<T>(T message) where T : class
    {
        var journal = Host.Grains.GetGrain<IJournalGrain>(RunId);
        var before = await journal.CountAsync();
        await Host.Publish(message);
        await Eventually.Until(() => journal.ReadAsync(before, 100), e => e.Any(x => x.Type == typeof(T).Name), $"{typeof(T).Name} journalled");
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>The dashboard, trace and metrics tests share one run.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardRunCollection : ICollectionFixture<DashboardRunFixture>
{
    public const string Name = "dashboard run";
}

/// <summary>Answers EvaluateCheckpoint from inside the consume, as the evaluator does: a perplexity per held-out domain.</summary>
public sealed class AnsweringEvaluator : IConsumer<EvaluateCheckpoint>
{
    public Task Consume(ConsumeContext<EvaluateCheckpoint> context)
    {
        var m = context.Message;
        var results = m.Sets.Select(s => s.Domain).Distinct().Order(StringComparer.Ordinal).Select((domain, i) => new DomainEvaluation
        {
            Domain = domain, Tokens = 1000, TextBytes = 3000, Loss = 2.0 + i * 0.5, Perplexity = Math.Exp(2.0 + i * 0.5), BitsPerByte = 0.9 + i * 0.1,
        }).ToList();
        return context.Publish(new EvaluationCompleted { RunId = m.RunId, Stage = m.Stage, Step = m.Step, Results = results, Metrics = [new EvaluationMetric { Name = "mc/t/acc", Value = 0.42 }] });
    }
}

/// <summary>Answers PublishModel from inside the consume, as the publisher does.</summary>
public sealed class AnsweringPublisher : IConsumer<PublishModel>
{
    public Task Consume(ConsumeContext<PublishModel> context)
    {
        var m = context.Message;
        return context.Publish(new ModelPublished { RunId = m.RunId, Stage = m.Stage, Step = m.Step, Repo = m.Target.Repo, Revision = $"rev-{m.Stage}-{m.Step}", Folder = $"/hub/{m.Stage}", Created = true });
    }
}
