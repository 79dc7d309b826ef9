using System.Text.Json;
using Grpc.Net.Client;
using Jiniac.Contracts;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Grains;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Tests;

/// <summary>Suites by checkpoint policy, and gates: a failed gate holds a stage (Gated) until an approval or a replay, and the run then completes.</summary>
public sealed class GateTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Host.ControlUrl);

    private OrchestratorHost Host => fixture.Host;

    public void Dispose() => _channel.Dispose();

    private static readonly EvaluationSuiteSpec Mc = new()
    {
        Name = "mc",
        When = new CheckpointPolicy { StageEnd = true, Best = true, EveryNSteps = 5 },
        Tasks = [new EvalTaskSpec { Name = "t", Format = "jcommonsenseqa", Path = "/eval/t.jsonl" }],
    };

    private static PipelineSpec Spec(string run) => Pipelines.TwoStages(run) with
    {
        Training = Pipelines.TwoStages(run).Training with { CheckpointInterval = 1 },
        Evaluation = new EvaluationSpec
        {
            Suites = [Mc],
            Gates =
            [
                new GateSpec { Metric = "mc/t/acc", Min = 0.5 },
                new GateSpec { Metric = "perplexity/stories", MaxRegressionPercent = 10 },
            ],
        },
    };

    [Fact]
    public async Task A_failed_gate_holds_the_stage_an_approval_releases_it_a_replay_re_evaluates_and_the_run_completes()
    {
        const string run = "gated";
        var s = await Drive.ToFirstStageTrainingAsync(Host, run, Spec(run));
        var c = Host.Commands;
        await Drive.SecondStageReadyAsync(Host, s);

        // Checkpoint policy: every 5 steps while training (the suite goes along), nothing for steps in between.
        foreach (var (step, loss) in new[] { (4L, 5.0), (5L, 4.0), (8L, 2.0) })
        {
            await Host.Publish(new CheckpointSaved { RunId = run, Stage = "en", Attempt = 1, Step = step, Tokens = step * 128, Loss = loss, Folder = $"/ckpt/en/{step}" });
            await Drive.StageView(Host, run, "en", v => v.Checkpoints.Any(x => x.Step == step), $"has checkpoint {step}");
        }

        var at5 = Assert.Single(await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Step == 5));
        Assert.Equal(["mc"], at5.Suites.Select(x => x.Name));
        Assert.Equal(s.Tokenizer.TokenizerBlob, at5.TokenizerBlob);
        Assert.Empty(c.Of<EvaluateCheckpoint>(x => x.RunId == run && x.Step is 4 or 8));
        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = 5, Results = Results(4.0), Metrics = [new EvaluationMetric { Name = "mc/t/acc", Value = 0.2 }] });

        // Stage end: the final checkpoint and the lowest-loss one (step 8) are evaluated with the suite.
        await Host.Publish(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 1280, FinalLoss = 2.5, CheckpointFolder = "/ckpt/en/10" });
        var final = Assert.Single(await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Step == 10));
        Assert.Equal(["mc"], final.Suites.Select(x => x.Name));
        var best = Assert.Single(await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Step == 8));
        Assert.Equal(["mc"], best.Suites.Select(x => x.Name));

        // The final evaluation misses the accuracy gate: the stage is held, journalled and alerted; ja does not start.
        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = 10, Results = Results(2.5), Metrics = [new EvaluationMetric { Name = "mc/t/acc", Value = 0.3 }] });
        var gated = await Drive.StageView(Host, run, "en", v => v.Status == "Gated", "Gated");
        Assert.Equal("gate failed on step 10: mc/t/acc = 0.3 is below the minimum 0.5", gated.Reason);
        var journal = Host.Grains.GetGrain<IJournalGrain>(run);
        var entries = await Eventually.Until(() => journal.ReadAsync(0, 10_000), e => e.Any(x => x.Type == "AlertRaised"), "an alert in the journal");
        Assert.Contains(entries, e => e.Type == "StageGated" && e.Stage == "en");
        var alert = JsonSerializer.Deserialize<AlertRaised>(entries.Single(e => e.Type == "AlertRaised").Json, OrchestratorJson.Options)!;
        Assert.Equal(("en", "gate-failed", "warning"), (alert.Stage, alert.Kind, alert.Severity));
        Assert.Contains("mc/t/acc = 0.3", alert.Message);
        Assert.Contains("jiniac approve gated en", alert.Message);
        Assert.Empty(c.Of<PublishModel>(x => x.RunId == run));
        var held = (await Host.Run(run).GetViewAsync())!;
        Assert.Equal(("Running", "en"), (held.Status, held.CurrentStage));
        Assert.Empty(c.Of<LaunchTraining>(x => x.RunId == run && x.Stage == "ja"));
        Assert.Equal(0.3, gated.Evaluations.Single(e => e.Step == 10).Metrics.Single(m => m.Name == "mc/t/acc").Value);
        Assert.Contains(gated.Evaluations.Single(e => e.Step == 10).Metrics, m => m.Name == "perplexity/stories");

        // Only a gated stage can be approved; the operator approves through the control API.
        var client = new G.ControlService.ControlServiceClient(_channel);
        var notGated = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.ApproveStageAsync(new ApproveStageRequest { RunId = run, Stage = "ja" }).ResponseAsync);
        Assert.Contains("only a stage held by a gate can be approved", notGated.Status.Detail);
        var approved = await client.ApproveStageAsync(new ApproveStageRequest { RunId = run, Stage = "en", Reason = "tiny model, accuracy not expected yet" });
        Assert.Equal("Publishing", approved.Status);
        var publish = Assert.Single(await c.WaitForAsync<PublishModel>(x => x.RunId == run && x.Stage == "en"));
        Assert.Equal(0.3, publish.Metrics.Single(m => m.Name == "mc/t/acc").Value); // for the model card's model-index
        entries = await journal.ReadAsync(0, 10_000);
        Assert.Contains(entries, e => e.Type == "GateApproved" && e.Json.Contains("tiny model, accuracy not expected yet", StringComparison.Ordinal));
        await Host.Publish(new ModelPublished { RunId = run, Stage = "en", Step = 10, Repo = "test/tiny", Revision = "rev-en", Folder = "/hub/rev-en", Created = true });
        var jaLaunch = Assert.Single(await c.WaitForAsync<LaunchTraining>(x => x.RunId == run && x.Stage == "ja"));
        Assert.Equal("/ckpt/en/10", jaLaunch.InitFrom);

        // ja regresses on en's held-out stories by more than 10% (perplexity e^3.0 against e^2.5): held again.
        await Host.Publish(new TrainingCompleted { RunId = run, Stage = "ja", Attempt = 1, FinalStep = 4, Tokens = 512, FinalLoss = 3.0, CheckpointFolder = "/ckpt/ja/4" });
        await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "ja" && x.Step == 4);
        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "ja", Step = 4, Results = Results(3.0), Metrics = [new EvaluationMetric { Name = "mc/t/acc", Value = 0.6 }] });
        var regressed = await Drive.StageView(Host, run, "ja", v => v.Status == "Gated", "Gated");
        Assert.Contains("perplexity/stories = 20.09 regressed 64.87% from 12.18 at stage 'en' (at most 10% allowed)", regressed.Reason);

        // A replay evaluates the final checkpoint again; this time it passes, is published, and the run completes.
        var replay = await Host.Run(run).ReplayStageAsync("ja", ReplayRequest.Because("evaluation data fixed"));
        Assert.Equal((2, "Evaluating", (string?)null), (replay.Attempt, replay.Status, replay.Error));
        await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "ja" && x.Step == 4, count: 2);
        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "ja", Step = 4, Results = Results(2.55), Metrics = [new EvaluationMetric { Name = "mc/t/acc", Value = 0.6 }] });
        await c.WaitForAsync<PublishModel>(x => x.RunId == run && x.Stage == "ja");
        await Host.Publish(new ModelPublished { RunId = run, Stage = "ja", Step = 4, Repo = "test/tiny", Revision = "rev-ja", Folder = "/hub/rev-ja", Created = true });
        var done = (await Drive.RunView(Host, run, v => v.Status == "Completed", "Completed"))!;
        Assert.Equal(["Completed", "Completed"], done.Stages.Select(x => x.Status));
    }

    [Fact]
    public void Gate_checks_follow_min_max_and_regression_in_the_metrics_direction()
    {
        List<EvaluationMetric> M(params (string, double)[] values) => [.. values.Select(v => new EvaluationMetric { Name = v.Item1, Value = v.Item2 })];
        GateSpec[] gates =
        [
            new() { Metric = "s/t/acc", Min = 0.4, MaxRegressionPercent = 5 },
            new() { Metric = "bits_per_byte/ja", Max = 2.0, MaxRegressionPercent = 5 },
        ];
        Assert.Empty(GateCheck.Failures(gates, M(("s/t/acc", 0.5), ("bits_per_byte/ja", 1.5)), M(("s/t/acc", 0.52), ("bits_per_byte/ja", 1.45)), "prev"));
        var failures = GateCheck.Failures(gates, M(("s/t/acc", 0.45), ("bits_per_byte/ja", 2.1)), M(("s/t/acc", 0.5), ("bits_per_byte/ja", 1.0)), "prev");
        Assert.Equal(
        [
            "s/t/acc = 0.45 regressed 10% from 0.5 at stage 'prev' (at most 5% allowed)",
            "bits_per_byte/ja = 2.1 is above the maximum 2",
            "bits_per_byte/ja = 2.1 regressed 110% from 1 at stage 'prev' (at most 5% allowed)",
        ], failures);
        Assert.Equal(["s/t/acc was not measured"], GateCheck.Failures(gates[..1], M(), M(), null));
        // Without a previous value (first stage) only the absolute bounds apply.
        Assert.Empty(GateCheck.Failures(gates, M(("s/t/acc", 0.45), ("bits_per_byte/ja", 1.9)), M(), null));
    }

    private static List<DomainEvaluation> Results(double loss) =>
    [
        new() { Domain = "stories", Tokens = 100, TextBytes = 700, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1.1 },
        new() { Domain = "pages", Tokens = 100, TextBytes = 900, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1.3 },
    ];
}
