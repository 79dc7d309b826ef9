using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>The train-launcher's interventions as the orchestrator sees them: journaled, and a rollback shortens the lineage.</summary>
public sealed class InterventionTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    [Fact]
    public async Task A_rollback_is_journaled_and_takes_the_later_checkpoints_out_of_the_stage()
    {
        const string run = "rolled-back";
        await Drive.ToFirstStageTrainingAsync(Host, run);
        foreach (var step in (long[])[4, 8, 12])
        {
            await Host.Publish(Saved(run, step, loss: 3.0));
        }

        await Host.Publish(new TrainingProgressed { RunId = run, Stage = "en", Attempt = 1, Step = 12, TotalSteps = 20, Tokens = 12, Loss = 3, LearningRate = 1e-3, GradNorm = 1, TokensPerSecond = 100 });
        await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 3 && v.Step == 12, "three checkpoints");

        await Host.Publish(new AlertRaised
        {
            RunId = run, Stage = "en", Attempt = 1, Step = 4, Severity = "warning", Kind = TrainingAlertKinds.RolledBack,
            Message = "rolled back to step 4 after the loss is not finite; skipping batches [7, 8)",
        });

        var view = await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 1, "only the checkpoint rolled back to");
        Assert.Equal((4L, 4L), (view.Checkpoints[0].Step, view.Step));
        var journal = Host.Grains.GetGrain<IJournalGrain>(run);
        var entries = await Eventually.Until(() => journal.ReadAsync(0, 1000), e => e.Any(x => x.Type == "AlertRaised"), "the alert is journaled");
        var alert = entries.Single(x => x.Type == "AlertRaised");
        Assert.Equal("en", alert.Stage);
        Assert.Contains("skipping batches [7, 8)", alert.Json);

        // Step 8 written anew after the rollback is this stage's again, with its new numbers, here and in the registry.
        await Host.Publish(Saved(run, 8, loss: 2.5));
        view = await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 2, "the new step 8");
        Assert.Equal(2.5, view.Checkpoints[1].Loss);
        var registry = await Eventually.Until(() => Host.Grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(run, "en", 8)).GetAsync(), c => c.Loss == 2.5, "the registry has the new step 8");
        Assert.Equal(8, registry.Step);

        // Another attempt's alert, or another kind, changes nothing.
        await Host.Stage(run, "en").OnAlertRaisedAsync(new AlertRaised { RunId = run, Stage = "en", Attempt = 7, Step = 0, Severity = "warning", Kind = TrainingAlertKinds.RolledBack, Message = "stale" });
        await Host.Stage(run, "en").OnAlertRaisedAsync(new AlertRaised { RunId = run, Stage = "en", Attempt = 1, Step = 0, Severity = "warning", Kind = TrainingAlertKinds.Stalled, Message = "stalled" });
        Assert.Equal(2, (await Host.Stage(run, "en").GetViewAsync()).Checkpoints.Count);
    }

    [Fact]
    public async Task Retention_prunes_what_no_evaluation_needs_and_keeps_the_last_the_every_nth_and_the_pending()
    {
        const string run = "retained";
        var spec = Pipelines.TwoStages(run);
        spec = spec with
        {
            Training = spec.Training with { Retention = new RetentionSpec { KeepLast = 2, KeepEvery = 12 } },
            Evaluation = new EvaluationSpec { EveryNCheckpoints = 2 },
        };
        await Drive.ToFirstStageTrainingAsync(Host, run, spec);

        foreach (var step in (long[])[4, 8, 12, 16, 20, 24])
        {
            await Host.Publish(Saved(run, step, loss: 3.0));
            await Drive.StageView(Host, run, "en", v => v.Checkpoints.Any(c => c.Step == step), $"checkpoint {step}");
        }

        // 4 is neither among the last two, nor a multiple of 12, nor waited for by an evaluation (8, 16, 24 are).
        var first = Assert.Single(await Host.Commands.WaitForAsync<PruneCheckpoints>(c => c.RunId == run));
        Assert.Equal(("en", 1), (first.Stage, first.Attempt));
        Assert.Equal([4L], first.Steps);

        // Once its evaluation is in, 8 goes too; 12 (keep_every) and 16 (evaluation pending) stay.
        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = 8, Results = [new DomainEvaluation { Domain = "stories", Tokens = 10, TextBytes = 40, Loss = 3, Perplexity = 20, BitsPerByte = 1 }] });
        var prunes = await Host.Commands.WaitForAsync<PruneCheckpoints>(c => c.RunId == run, 2);
        Assert.Equal([8L], prunes[1].Steps);
        var journal = await Eventually.Until(() => Host.Grains.GetGrain<IJournalGrain>(run).ReadAsync(0, 1000),
            e => e.Count(x => x.Type == "CheckpointsPruned") == 2, "both prunes journaled");
        Assert.Contains("\"keep_last\":2", journal.Last(x => x.Type == "CheckpointsPruned").Json.Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retention_keeps_the_checkpoint_with_the_best_evaluation_when_asked()
    {
        const string run = "best-kept";
        var spec = Pipelines.TwoStages(run);
        spec = spec with
        {
            Training = spec.Training with { Retention = new RetentionSpec { KeepLast = 2, KeepBest = "perplexity/stories" } },
            Evaluation = new EvaluationSpec { EveryNCheckpoints = 1 },
        };
        await Drive.ToFirstStageTrainingAsync(Host, run, spec);
        foreach (var step in (long[])[4, 8, 12, 16])
        {
            await Host.Publish(Saved(run, step, loss: 3.0));
            await Drive.StageView(Host, run, "en", v => v.Checkpoints.Any(c => c.Step == step), $"checkpoint {step}");
        }

        // Step 4 scores best (lowest perplexity): once evaluated it stays although it is not among the last two; 8 goes.
        foreach (var (step, perplexity) in ((long, double)[])[(4, 10), (8, 20), (12, 30), (16, 40)])
        {
            await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = step, Results = [new DomainEvaluation { Domain = "stories", Tokens = 10, TextBytes = 40, Loss = 3, Perplexity = perplexity, BitsPerByte = 1 }] });
        }

        var prune = Assert.Single(await Host.Commands.WaitForAsync<PruneCheckpoints>(c => c.RunId == run));
        Assert.Equal([8L], prune.Steps);
    }

    private static CheckpointSaved Saved(string run, long step, double loss) =>
        new() { RunId = run, Stage = "en", Attempt = 1, Step = step, Tokens = step * 16, Loss = loss, Folder = $"/checkpoints/step_{step:D7}" };
}
