using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>Failure, replay, cancel, resume and re-submission, each on its own run in one shared host.</summary>
public sealed class StateMachineTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    [Fact]
    public async Task A_training_failure_fails_stage_and_run_and_a_replay_relaunches_as_attempt_2_ignoring_the_old_attempt()
    {
        const string run = "failing";
        await Drive.ToFirstStageTrainingAsync(Host, run);
        await Host.Publish(new TrainingFailed { RunId = run, Stage = "en", Attempt = 1, Reason = "trainer exited with code 137", ExitCode = 137, Restarts = 3 });

        // (A view reads the stages before the run's own status, so wait for both.)
        var failed = (await Drive.RunView(Host, run, v => v.Status == "Failed" && v.Stages[0].Status == "Failed", "Failed"))!;
        Assert.Contains("trainer exited with code 137", failed.Stages[0].Reason);
        Assert.Contains("stage 'en' failed", failed.Reason);
        Assert.Contains("trainer exited with code 137", failed.Reason);
        Assert.Equal(3, failed.Stages[0].Restarts);

        // Replay: the data is prepared, so attempt 2 goes straight back to training, from scratch again.
        var replay = await Host.Run(run).ReplayStageAsync("en", ReplayRequest.Because("after fixing the node"));
        Assert.Equal((2, (string?)null), (replay.Attempt, replay.Error));
        var relaunch = Assert.Single(await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run && c.Attempt == 2));
        Assert.Equal(("en", (string?)null), (relaunch.Stage, relaunch.InitFrom));
        var view = (await Drive.RunView(Host, run, v => v.Status == "Running" && v.Stages[0].Status == "Training", "Running again"))!;
        Assert.Equal(2, view.Stages[0].Attempt);
        Assert.Null(view.Reason);

        // The first attempt's late events change nothing.
        var stage = Host.Stage(run, "en");
        await stage.OnTrainingStartedAsync(new TrainingStarted { RunId = run, Stage = "en", Attempt = 1, JobId = "old-job", Backend = "local", TotalSteps = 99, Restart = 0 });
        await stage.OnTrainingCompletedAsync(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 1, FinalLoss = 1, CheckpointFolder = "/old" });
        await stage.OnTrainingFailedAsync(new TrainingFailed { RunId = run, Stage = "en", Attempt = 1, Reason = "late", Restarts = 0 });
        var after = await stage.GetViewAsync();
        Assert.Equal(("Training", 2, (string?)null, 0L), (after.Status, after.Attempt, after.JobId, after.TotalSteps));
        Assert.Null(after.Final);

        // The current attempt's events do count.
        await stage.OnTrainingStartedAsync(new TrainingStarted { RunId = run, Stage = "en", Attempt = 2, JobId = "new-job", Backend = "local", TotalSteps = 10, Restart = 0 });
        Assert.Equal("new-job", (await stage.GetViewAsync()).JobId);

        // Only a failed or cancelled stage can be replayed, and only a stage that exists.
        Assert.NotNull((await Host.Run(run).ReplayStageAsync("en", ReplayRequest.Because("again"))).Error);
        Assert.Equal("NotFound", (await Host.Run(run).ReplayStageAsync("fr", ReplayRequest.Because("no such stage"))).Status);
        Assert.Single(Host.Commands.Of<LaunchTraining>(c => c.RunId == run && c.Attempt == 2));
    }

    [Fact]
    public async Task Cancelling_a_run_stops_the_training_stage_and_cancels_the_preparing_one()
    {
        const string run = "cancelled";
        await Drive.ToFirstStageTrainingAsync(Host, run);

        Assert.Equal("Cancelled", await Host.Run(run).CancelAsync("operator stop"));

        var stop = Assert.Single(await Host.Commands.WaitForAsync<StopTraining>(c => c.RunId == run));
        Assert.Equal(("en", 1, "operator stop"), (stop.Stage, stop.Attempt, stop.Reason));
        var view = (await Drive.RunView(Host, run, v => v.Stages.All(s => s.Status == "Cancelled"), "both stages Cancelled"))!;
        Assert.Equal(("Cancelled", "operator stop"), (view.Status, view.Reason));
        Assert.Equal("NotFound", await Host.Run("never-submitted").CancelAsync("x"));
    }

    [Fact]
    public async Task Resume_reissues_the_launch_of_a_training_stage_and_the_tokenization_of_untokenized_shards()
    {
        const string run = "resumed";
        var s = await Drive.ToFirstStageTrainingAsync(Host, run);
        await Host.Publish(s.SourceIngested("ja", "pages", s.PagesTrain, s.PagesEval));
        await Host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == run && c.Stage == "ja", 2);
        await Host.Publish(s.Tokenized("ja", s.PagesTrain));
        await Drive.StageView(Host, run, "ja", v => v.ShardsTokenized == 1, "one shard tokenized");
        var ingestsBefore = Host.Commands.Of<IngestSource>(c => c.RunId == run).Count;
        var firstLaunch = Assert.Single(Host.Commands.Of<LaunchTraining>(c => c.RunId == run));

        await Host.Run(run).ResumeAsync();

        var launches = await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run, 2);
        Assert.Equal(("en", 1), (launches[1].Stage, launches[1].Attempt));
        Assert.Equal(firstLaunch.Data.Select(d => (d.Prefix, d.Weight)), launches[1].Data.Select(d => (d.Prefix, d.Weight)));
        await Host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == run && c.ShardKey == s.PagesEval.ShardKey, 2);
        Assert.Single(Host.Commands.Of<TokenizeRequest>(c => c.RunId == run && c.ShardKey == s.PagesTrain.ShardKey));
        Assert.Equal(ingestsBefore, Host.Commands.Of<IngestSource>(c => c.RunId == run).Count); // every source is done
        Assert.Equal(["Training", "Preparing"], (await Host.Run(run).GetViewAsync())!.Stages.Select(v => v.Status));
    }

    [Fact]
    public async Task Submitting_the_same_pipeline_again_resumes_and_a_different_one_under_the_same_id_is_refused()
    {
        const string run = "twice";
        Assert.Equal((true, (string?)null), ((await Host.Run(run).SubmitAsync(Pipelines.TwoStages(run))) is var first ? (first.Created, first.Error) : default));
        await Host.Commands.WaitForAsync<IngestSource>(c => c.RunId == run);

        var same = await Host.Run(run).SubmitAsync(Pipelines.TwoStages(run));
        Assert.Equal((false, (string?)null), (same.Created, same.Error));

        var different = await Host.Run(run).SubmitAsync(Pipelines.TwoStages(run, enBudget: 99_999));
        Assert.False(different.Created);
        Assert.Contains("different pipeline", different.Error);
        Assert.Equal(40_000, (await Host.Run(run).GetViewAsync())!.Stages[0].TokenBudget);
    }
}
