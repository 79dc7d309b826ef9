using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests.Megatron;

/// <summary>
/// A stage with training.trainer.kind: megatron through the real launcher, driving MegatronLikeTrainer.sh (Megatron's
/// flags, log lines, checkpoint folder and exits, without Megatron) as a real child process.
/// </summary>
public sealed class MegatronLauncherTests
{
    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    private static LaunchTraining Megatron(int steps, int maxRestarts = 3)
    {
        var command = LauncherFixture.Command(steps, checkpointInterval: 4, maxRestarts: maxRestarts);
        var script = Path.Combine(AppContext.BaseDirectory, "Megatron", "MegatronLikeTrainer.sh");
        return command with
        {
            Training = command.Training with
            {
                Trainer = new TrainerSpec { Kind = TrainerSpec.Megatron, Command = ["bash", script], ExtraArgs = ["--bf16"] },
            },
        };
    }

    private static string Checkpoint(LauncherFixture fixture, long iteration) => Path.Combine(fixture.TrainDir, "checkpoints", $"iter_{iteration:D7}");

    [Fact]
    public async Task A_megatron_stage_reports_its_log_lines_and_tracker_checkpoints_and_completes()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, Megatron(steps: 10));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        var started = Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal(10, started.TotalSteps);
        // The bus delivers events to the recorder concurrently: the ones published just before completion may land after it.
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 8);
        var checkpoints = fixture.Events.Of<CheckpointSaved>().OrderBy(c => c.Step).ToList();
        Assert.Equal([4L, 8L, 10L], checkpoints.Select(c => c.Step));
        Assert.Equal(Checkpoint(fixture, 4), checkpoints[0].Folder);
        Assert.Equal(4 * LauncherFixture.BatchTokens, checkpoints[0].Tokens);
        // The loss Megatron logged at that iteration (MegatronLikeTrainer.sh: 10 / (iteration + 10)).
        Assert.Equal(7.142850E-01, checkpoints[0].Loss);

        var last = await fixture.Events.WaitForAsync<TrainingProgressed>(p => p.Step == 10);
        Assert.Equal((10L, 10L * LauncherFixture.BatchTokens, 3.0E-04, 0.5), (last.Step, last.Tokens, last.LearningRate, last.GradNorm));
        Assert.Equal(LauncherFixture.BatchTokens / 0.010, last.TokensPerSecond, 6);
        Assert.Equal((10L, Checkpoint(fixture, 10), 0.5), (completed.FinalStep, completed.CheckpointFolder, completed.FinalLoss));

        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        var binPath = await fixture.Host.Blobs.GetLocalPathAsync(LauncherFixture.DataKey + ".bin", CancellationToken.None);
        Assert.Contains($"--data-path 0.7 {binPath[..^4]} --split 100,0,0", log);
        Assert.Contains("--train-iters 10 ", log);
        Assert.Contains("--exit-signal-handler", log);
        Assert.Contains("--skip-train-iteration-range 2-2 --bf16", log);
        Assert.DoesNotContain("--load", log);

        // Relaunched after completion, it only reports again (the launcher wrote DONE.json for Megatron).
        await SendAsync(fixture, Megatron(steps: 10) with { Attempt = 2 });
        await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
    }

    [Fact]
    public async Task Exit_16_is_requeued_from_the_latest_checkpoint_without_counting_as_a_crash()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string>
        {
            ["MEGATRON_LIKE_EXIT_AT"] = "6",
            ["MEGATRON_LIKE_EXIT_CODE"] = "16",
        });
        await SendAsync(fixture, Megatron(steps: 10, maxRestarts: 0));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        var alert = Assert.Single(fixture.Events.Of<AlertRaised>());
        Assert.Equal("trainer-requeued", alert.Kind);
        Assert.Contains("exited 16", alert.Message);
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.Equal(4, starts[1].ResumedFromStep);
        Assert.Equal(10, completed.FinalStep);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains($"--load {Path.Combine(fixture.TrainDir, "checkpoints")} ", log);
        Assert.Contains("loading checkpoint from", log);
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
    }

    [Fact]
    public async Task A_requeue_that_saved_nothing_new_counts_as_a_restart_so_none_loops_forever()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string>
        {
            ["MEGATRON_LIKE_EXIT_AT"] = "2",
            ["MEGATRON_LIKE_EXIT_CODE"] = "16",
        });
        await SendAsync(fixture, Megatron(steps: 10, maxRestarts: 0));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Contains("exited 16", failed.Reason);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.DoesNotContain(fixture.Events.Of<AlertRaised>(), a => a.Kind == "trainer-requeued");
    }

    [Fact]
    public async Task Exit_17_fails_the_stage_at_once_with_the_reason_and_the_log_tail()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string>
        {
            ["MEGATRON_LIKE_EXIT_AT"] = "5",
            ["MEGATRON_LIKE_EXIT_CODE"] = "17",
        });
        await SendAsync(fixture, Megatron(steps: 10, maxRestarts: 3));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Contains("exited 17", failed.Reason);
        Assert.Contains("exiting with code 17 at iteration 5", failed.Reason);
        Assert.Equal(17, failed.ExitCode);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
    }

    [Fact]
    public async Task A_loss_spike_rolls_megatron_back_to_the_checkpoint_before_it_and_skips_the_iteration_by_flag()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["MEGATRON_LIKE_SPIKE_AT"] = "7" });
        await SendAsync(fixture, Megatron(steps: 12));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Equal(12, completed.FinalStep);
        var alerts = fixture.Events.Of<AlertRaised>();
        Assert.Equal([TrainingAlertKinds.LossSpike, TrainingAlertKinds.RolledBack], alerts.Select(a => a.Kind));
        Assert.Equal(7, alerts[0].Step);
        Assert.Equal(4, alerts[1].Step);
        Assert.Contains("skipping batches [7, 8)", alerts[1].Message);

        // Resumed from iteration 4 (the tracker was pointed back there), with the range as Megatron's flag beside the command's own.
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.Equal(4, starts[1].ResumedFromStep);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains("--skip-train-iteration-range 2-2 7-7 ", log);
        Assert.Contains("loading checkpoint from", log);

        // What the diverged run saved after iteration 4 is kept, out of the lineage; the stage ends with a finite loss.
        var rolledBack = Assert.Single(Directory.GetDirectories(Path.Combine(fixture.TrainDir, "rolled-back")));
        Assert.All(Directory.GetDirectories(rolledBack), d => Assert.True(long.Parse(Path.GetFileName(d)["iter_".Length..], System.Globalization.CultureInfo.InvariantCulture) > 4));
        Assert.NotEmpty(Directory.GetDirectories(rolledBack));
        // MegatronLikeTrainer.sh: 10 / (12 + 10), not the diverged 99.
        Assert.Equal(0.454545, completed.FinalLoss, 6);
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
    }

    [Fact]
    public async Task StopTraining_makes_megatron_save_and_exit_and_it_is_not_restarted()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["MEGATRON_LIKE_STEP_SECONDS"] = "0.05" });
        await SendAsync(fixture, Megatron(steps: 2000));
        await fixture.Events.WaitForAsync<TrainingProgressed>();

        await SendAsync(fixture, new StopTraining { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Reason = "operator asked" });

        var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "training-stopped");
        Assert.Equal("operator asked", alert.Message);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains("exiting program after receiving SIGTERM.", log);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
        Assert.False(File.Exists(Path.Combine(fixture.TrainDir, "DONE.json")));
    }
}
