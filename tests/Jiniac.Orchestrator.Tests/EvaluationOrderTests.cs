using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// Events of one stage arrive in any order on a real broker: a checkpoint's own evaluation can be reported before
/// the trainer's TrainingCompleted names that checkpoint final. The final checkpoint is then evaluated once, not
/// again, unless being final adds suites (stage-end ones), which then run on it. And a CheckpointSaved held up in a
/// redelivery can arrive after TrainingCompleted: the stage registers it from TrainingCompleted's list.
/// </summary>
public sealed class EvaluationOrderTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    private static readonly EvaluationSuiteSpec AtStageEnd = new()
    {
        Name = "end",
        When = new CheckpointPolicy { StageEnd = true },
        Tasks = [new EvalTaskSpec { Name = "t", Format = "jcommonsenseqa", Path = "/eval/t.jsonl" }],
    };

    [Fact]
    public async Task A_final_checkpoint_evaluated_before_TrainingCompleted_arrives_is_not_evaluated_again_and_the_stage_publishes()
    {
        const string run = "eval-overtakes";
        var c = Host.Commands;
        await ToFinalEvaluatedBeforeCompletionAsync(run, new EvaluationSpec { EveryNCheckpoints = 1 });

        await Host.Publish(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 1_280, FinalLoss = 2.5, CheckpointFolder = "/ckpt/en/10" });

        // Released on the evaluation already in: published at once, with that evaluation.
        var publish = Assert.Single(await c.WaitForAsync<PublishModel>(x => x.RunId == run && x.Stage == "en"));
        Assert.Equal((10L, "/ckpt/en/10"), (publish.Step, publish.CheckpointFolder));
        Assert.Equal([2.5], publish.Evaluation.Select(e => e.Loss).Distinct());
        Assert.Equal([5L, 10L], c.Of<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "en").Select(x => x.Step));
        var view = await Host.Stage(run, "en").GetViewAsync();
        Assert.Equal(("Publishing", 10L), (view.Status, view.Final!.Step));
    }

    [Fact]
    public async Task A_final_checkpoint_evaluated_before_TrainingCompleted_is_evaluated_again_when_stage_end_suites_add_to_it()
    {
        const string run = "eval-overtakes-suites";
        var c = Host.Commands;
        await ToFinalEvaluatedBeforeCompletionAsync(run, new EvaluationSpec { EveryNCheckpoints = 1, Suites = [AtStageEnd] });

        await Host.Publish(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 1_280, FinalLoss = 2.5, CheckpointFolder = "/ckpt/en/10" });

        // The stage-end suite runs on the final checkpoint: a second request for step 10, with the suite this time.
        var again = await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "en" && x.Step == 10, 2);
        Assert.Equal([[], ["end"]], again.Select(e => e.Suites.Select(s => s.Name).ToList()));
        Assert.Empty(c.Of<PublishModel>(x => x.RunId == run));
        Assert.Equal("Evaluating", (await Host.Stage(run, "en").GetViewAsync()).Status);

        await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = 10, Results = Results(2.4) });
        var publish = Assert.Single(await c.WaitForAsync<PublishModel>(x => x.RunId == run && x.Stage == "en"));
        Assert.Equal([2.4], publish.Evaluation.Select(e => e.Loss).Distinct());
    }

    [Fact]
    public async Task Checkpoints_whose_CheckpointSaved_is_overtaken_by_TrainingCompleted_are_registered_from_its_list_and_the_late_event_changes_nothing()
    {
        const string run = "saved-overtaken";
        var s = await Drive.ToFirstStageTrainingAsync(Host, run);
        await Drive.SecondStageReadyAsync(Host, s);
        await Host.Publish(new TrainingStarted { RunId = run, Stage = "en", Attempt = 1, JobId = "job", Backend = "local", TotalSteps = 15, Restart = 0 });
        await Host.Publish(new CheckpointSaved { RunId = run, Stage = "en", Attempt = 1, Step = 10, Tokens = 1_280, Loss = 3.0, Folder = "/ckpt/en/10", Bytes = 4_096 });
        await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 1, "has checkpoint 10");

        // 5 and 15 never reported (yet); TrainingCompleted lists them with 10.
        TrainedCheckpoint[] onDisk =
        [
            new() { Step = 5, Tokens = 640, Loss = 4.0, Folder = "/ckpt/en/5" },
            new() { Step = 10, Tokens = 1_280, Loss = 3.0, Folder = "/ckpt/en/10" },
            new() { Step = 15, Tokens = 1_920, Loss = 2.5, Folder = "/ckpt/en/15" },
        ];
        await Host.Publish(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 15, Tokens = 1_920, FinalLoss = 2.5, CheckpointFolder = "/ckpt/en/15", Checkpoints = onDisk });
        var evaluating = await Drive.StageView(Host, run, "en", v => v.Status == "Evaluating", "Evaluating");
        Assert.Equal(onDisk.Select(c => new CheckpointSummary(c.Step, c.Tokens, c.Loss, c.Folder)), evaluating.Checkpoints);
        Assert.Equal(15L, evaluating.Final!.Step);
        Assert.Equal(("/ckpt/en/5", 0L), await Host.Grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(run, "en", 5)).GetAsync() is { } five ? (five.Folder, five.Bytes) : default);

        // The late event: the same checkpoint, now with its size; the stage's list stays as it is.
        await Host.Publish(new CheckpointSaved { RunId = run, Stage = "en", Attempt = 1, Step = 5, Tokens = 640, Loss = 4.0, Folder = "/ckpt/en/5", Bytes = 2_048 });
        await Eventually.Until(() => Host.Grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(run, "en", 5)).GetAsync(), c => c?.Bytes == 2_048, "checkpoint 5 has its size");
        Assert.Equal(evaluating.Checkpoints, (await Host.Stage(run, "en").GetViewAsync()).Checkpoints);
        // Only the final checkpoint is evaluated (the request is sent as TrainingCompleted is taken in; waited for, not assumed).
        Assert.Equal([15L], (await Host.Commands.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run)).Select(x => x.Step));
        Assert.Equal([15L], Host.Commands.Of<EvaluateCheckpoint>(x => x.RunId == run).Select(x => x.Step));
    }

    /// <summary>
    /// "en" trains with "ja"'s held-out data ready (so "en" can be evaluated); checkpoints 5 and 10 are saved and each
    /// is evaluated, 10's result arriving while the stage still trains (TrainingCompleted not yet in).
    /// </summary>
    private async Task ToFinalEvaluatedBeforeCompletionAsync(string run, EvaluationSpec evaluation)
    {
        var s = await Drive.ToFirstStageTrainingAsync(Host, run, Pipelines.TwoStages(run) with { Evaluation = evaluation });
        var c = Host.Commands;
        await Drive.SecondStageReadyAsync(Host, s);

        await Host.Publish(new TrainingStarted { RunId = run, Stage = "en", Attempt = 1, JobId = "job", Backend = "local", TotalSteps = 10, Restart = 0 });
        foreach (var step in new long[] { 5, 10 })
        {
            await Host.Publish(new CheckpointSaved { RunId = run, Stage = "en", Attempt = 1, Step = step, Tokens = step * 128, Loss = 3.0, Folder = $"/ckpt/en/{step}" });
            var request = Assert.Single(await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "en" && x.Step == step));
            Assert.Empty(request.Suites);
            await Host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = step, Results = Results(2.5) });
            await Drive.StageView(Host, run, "en", v => v.Evaluations.Any(e => e.Step == step), $"has the evaluation of {step}");
        }

        Assert.Equal("Training", (await Host.Stage(run, "en").GetViewAsync()).Status);
    }

    private static DomainEvaluation[] Results(double loss) =>
    [
        new() { Domain = "stories", Tokens = 100, TextBytes = 400, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1 },
        new() { Domain = "encyclopedia", Tokens = 100, TextBytes = 400, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1 },
        new() { Domain = "ja", Tokens = 100, TextBytes = 400, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1 },
    ];
}
