using Jiniac.Contracts;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>The launcher through a real host and bus, driving ContractTrainer.sh as a real child process.</summary>
public sealed class TrainLauncherTests
{
    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    [Fact]
    public async Task A_full_run_publishes_started_progress_checkpoints_and_completed_with_the_trainers_numbers()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        var all = fixture.Events.All;
        var started = Assert.IsType<TrainingStarted>(all[0]);
        Assert.Equal(10, started.TotalSteps);
        Assert.Null(started.ResumedFromStep);
        Assert.Equal(0, started.Restart);
        Assert.Equal("local", started.Backend);
        Assert.StartsWith("local:", started.JobId);
        Assert.Same(completed, all[^1]);

        var checkpoints = fixture.Events.Of<CheckpointSaved>();
        Assert.Equal([4L, 8L, 10L], checkpoints.Select(c => c.Step));
        foreach (var checkpoint in checkpoints)
        {
            Assert.Equal(fixture.CheckpointFolder(checkpoint.Step), checkpoint.Folder);
            var state = fixture.ReadJson(Path.Combine(checkpoint.Folder, "trainer_state.json"));
            Assert.Equal(checkpoint.Step * LauncherFixture.BatchTokens, checkpoint.Tokens);
            Assert.Equal(state.GetProperty("loss").GetDouble(), checkpoint.Loss);
            Assert.Equal(Directory.GetFiles(checkpoint.Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length), checkpoint.Bytes);
            Assert.True(checkpoint.Bytes > 0);
        }

        var progress = fixture.Events.Of<TrainingProgressed>();
        Assert.NotEmpty(progress);
        var last = progress[^1];
        Assert.Equal(10, last.Step);
        Assert.Equal(10 * LauncherFixture.BatchTokens, last.Tokens);
        Assert.Equal(10, last.TotalSteps);
        Assert.Equal(0.003, last.LearningRate);
        Assert.True(all.ToList().IndexOf(last) < all.Count - 1);

        var done = fixture.ReadJson(Path.Combine(fixture.TrainDir, "DONE.json"));
        Assert.Equal(10, completed.FinalStep);
        Assert.Equal(10 * LauncherFixture.BatchTokens, completed.Tokens);
        Assert.Equal(done.GetProperty("loss").GetDouble(), completed.FinalLoss);
        Assert.Equal(fixture.CheckpointFolder(10), completed.CheckpointFolder);

        // JOB.json as the contract spells it, with the shard materialised as a local prefix.
        var job = fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json"));
        var binPath = await fixture.Host.Blobs.GetLocalPathAsync(LauncherFixture.DataKey + ".bin", CancellationToken.None);
        var data = job.GetProperty("data")[0];
        Assert.Equal(binPath[..^4], data.GetProperty("prefix").GetString());
        Assert.True(File.Exists(data.GetProperty("prefix").GetString() + ".idx"));
        Assert.Equal(0.7, data.GetProperty("weight").GetDouble());
        Assert.Equal(3, job.GetProperty("model").GetProperty("bos_token_id").GetInt32());
        Assert.Equal(3, job.GetProperty("model").GetProperty("eos_token_id").GetInt32());
        Assert.Equal(64, job.GetProperty("model").GetProperty("vocab_size").GetInt32());
        Assert.Equal(1, job.GetProperty("model").GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal(10 * LauncherFixture.BatchTokens - 1, job.GetProperty("train").GetProperty("train_tokens").GetInt64());
        Assert.Equal(0.003, job.GetProperty("train").GetProperty("lr").GetDouble());
        Assert.Equal(2, job.GetProperty("skip_batches")[0].GetProperty("from").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, job.GetProperty("resume_from").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, job.GetProperty("init_from").ValueKind);
        Assert.Equal(fixture.TrainDir, job.GetProperty("output_dir").GetString());
        var hash = job.GetProperty("job_hash").GetString();
        Assert.Equal(hash, fixture.ReadJson(Path.Combine(fixture.CheckpointFolder(10), "trainer_state.json")).GetProperty("job_hash").GetString());
        Assert.Contains("train: done at step 10", await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));
    }

    [Fact]
    public async Task A_crash_is_resumed_from_the_latest_complete_checkpoint()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_CRASH_AT_STEP"] = "6" });
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.Equal(1, starts[1].Restart);
        Assert.Equal(4, starts[1].ResumedFromStep);
        var alert = Assert.Single(fixture.Events.Of<AlertRaised>());
        Assert.Equal("trainer-restarted", alert.Kind);
        Assert.Contains("code 3", alert.Message);

        var job = fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json"));
        Assert.Equal(fixture.CheckpointFolder(4), job.GetProperty("resume_from").GetString());
        Assert.Equal([4L, 8L, 10L], fixture.Events.Of<CheckpointSaved>().Select(c => c.Step));
        Assert.Equal(10, completed.FinalStep);
        Assert.Contains($"resuming from {fixture.CheckpointFolder(4)} at step 4", await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));
    }

    [Fact]
    public async Task A_checkpoint_folder_without_COMPLETE_is_neither_reported_nor_resumed_from()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string>
        {
            ["CONTRACT_TRAINER_CRASH_AT_STEP"] = "8",
            ["CONTRACT_TRAINER_CRASH_MODE"] = "mid-checkpoint",
        });
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));

        await fixture.Events.WaitForAsync<TrainingCompleted>();

        var all = fixture.Events.All.ToList();
        var restart = fixture.Events.Of<TrainingStarted>().Single(s => s.Restart == 1);
        Assert.Equal(4, restart.ResumedFromStep);
        var saved8 = Assert.Single(fixture.Events.Of<CheckpointSaved>(), c => c.Step == 8);
        // Step 8 is reported only once the resumed trainer has written it completely.
        Assert.True(all.IndexOf(saved8) > all.IndexOf(restart));
        Assert.True(File.Exists(Path.Combine(fixture.CheckpointFolder(8), "COMPLETE")));
    }

    [Fact]
    public async Task Checkpoints_of_another_job_are_never_resumed_from_or_reported()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        var foreign = fixture.CheckpointFolder(3);
        Directory.CreateDirectory(foreign);
        await File.WriteAllTextAsync(Path.Combine(foreign, "trainer_state.json"), """{"step": 3, "tokens": 48, "loss": 1.0, "total_steps": 10, "seed": 1, "job_hash": "another-job"}""");
        await File.WriteAllTextAsync(Path.Combine(foreign, "COMPLETE"), "");
        var incomplete = fixture.CheckpointFolder(2);
        Directory.CreateDirectory(incomplete);

        await SendAsync(fixture, LauncherFixture.Command(steps: 10));
        await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Null(Assert.Single(fixture.Events.Of<TrainingStarted>()).ResumedFromStep);
        Assert.Equal([4L, 8L, 10L], fixture.Events.Of<CheckpointSaved>().Select(c => c.Step));
    }

    [Fact]
    public async Task Crashing_beyond_max_restarts_publishes_TrainingFailed_with_the_log_tail()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string>
        {
            ["CONTRACT_TRAINER_CRASH_AT_STEP"] = "3",
            ["CONTRACT_TRAINER_CRASH_TIMES"] = "100",
        });
        await SendAsync(fixture, LauncherFixture.Command(steps: 10, maxRestarts: 2));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Equal(3, failed.ExitCode);
        Assert.Equal(2, failed.Restarts);
        Assert.Contains("simulated crash at step 3", failed.Reason);
        Assert.Equal(3, fixture.Events.Of<TrainingStarted>().Count);
        Assert.Equal(2, fixture.Events.Of<AlertRaised>().Count(a => a.Kind == "trainer-restarted"));
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
    }

    [Fact]
    public async Task StopTraining_sends_SIGTERM_the_trainer_saves_and_is_not_restarted()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.05" });
        await SendAsync(fixture, LauncherFixture.Command(steps: 2000, checkpointInterval: 1000));
        await fixture.Events.WaitForAsync<TrainingProgressed>();

        await SendAsync(fixture, new StopTraining { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Reason = "operator asked" });

        var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "training-stopped");
        Assert.Equal("operator asked", alert.Message);
        var supervisor = fixture.Host.Services.GetRequiredService<TrainingSupervisor>();
        Assert.Empty(supervisor.Running);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains("stopped by signal at step", log);
        // The trainer saved where it stopped (exit 75), and nobody started it again.
        var saved = Directory.GetDirectories(Path.Combine(fixture.TrainDir, "checkpoints"), "step_*");
        Assert.Single(saved);
        Assert.True(File.Exists(Path.Combine(saved[0], "COMPLETE")));
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
        Assert.False(File.Exists(Path.Combine(fixture.TrainDir, "DONE.json")));
    }

    [Fact]
    public async Task Host_shutdown_stops_the_trainer_and_the_next_host_resumes_from_its_checkpoint()
    {
        var environment = new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.05" };
        await using var fixture = await LauncherFixture.StartAsync(environment);
        var command = LauncherFixture.Command(steps: 30, checkpointInterval: 1000);
        await SendAsync(fixture, command);
        await fixture.Events.WaitForAsync<TrainingProgressed>();

        await fixture.RestartHostAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.001" });

        Assert.Contains("stopped by signal at step", await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));
        var saved = Assert.Single(Directory.GetDirectories(Path.Combine(fixture.TrainDir, "checkpoints"), "step_*"));
        var savedStep = fixture.ReadJson(Path.Combine(saved, "trainer_state.json")).GetProperty("step").GetInt64();

        await SendAsync(fixture, command);
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Equal(savedStep, Assert.Single(fixture.Events.Of<TrainingStarted>()).ResumedFromStep);
        Assert.Equal(30, completed.FinalStep);
    }

    [Fact]
    public async Task A_repeated_launch_after_completion_republishes_TrainingCompleted_without_training()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 6));
        var first = await fixture.Events.WaitForAsync<TrainingCompleted>();
        var metricsBefore = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "metrics.jsonl"));
        var logBefore = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));

        await SendAsync(fixture, LauncherFixture.Command(steps: 6, attempt: 2));
        var second = await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);

        Assert.Equal(first with { Attempt = 2 }, second);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal(metricsBefore, await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "metrics.jsonl")));
        Assert.Equal(logBefore, await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));
    }

    [Fact]
    public async Task A_launcher_that_finds_the_stage_done_by_a_trainer_nobody_watched_reports_its_checkpoints()
    {
        // The trainer ran to the end while no launcher followed it (its launcher was SIGKILLed): a new host, which never
        // saw those checkpoints, must report them with the completion, or they are never registered (chaos test).
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 6));
        await fixture.Events.WaitForAsync<TrainingCompleted>();
        await fixture.RestartHostAsync();

        await SendAsync(fixture, LauncherFixture.Command(steps: 6, attempt: 2));
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);

        var reported = fixture.Events.Of<CheckpointSaved>().Where(c => c.Attempt == 2).ToList();
        Assert.Equal([4L, 6L], reported.Select(c => c.Step));
        Assert.Equal(completed.CheckpointFolder, reported[^1].Folder);
        Assert.True(fixture.Events.All.ToList().IndexOf(reported[^1]) < fixture.Events.All.ToList().IndexOf(completed));
        Assert.DoesNotContain(fixture.Events.Of<TrainingStarted>(), s => s.Attempt == 2);
    }

    [Fact]
    public async Task A_launch_of_the_attempt_already_running_is_ignored()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.05" });
        await SendAsync(fixture, LauncherFixture.Command(steps: 20));
        await fixture.Events.WaitForAsync<TrainingStarted>();
        await SendAsync(fixture, LauncherFixture.Command(steps: 20));

        await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Single(fixture.Events.Of<TrainingCompleted>());
    }

    [Fact]
    public async Task A_changed_job_does_not_resume_from_the_old_jobs_checkpoints_and_moves_them_aside()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 6));
        await fixture.Events.WaitForAsync<TrainingCompleted>();

        var changed = LauncherFixture.Command(steps: 8, attempt: 2);
        await SendAsync(fixture, changed);
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);

        Assert.Equal(8, completed.FinalStep);
        Assert.Null(fixture.Events.Of<TrainingStarted>().Single(s => s.Attempt == 2).ResumedFromStep);
        var archived = Assert.Single(Directory.GetDirectories(Path.Combine(fixture.TrainDir, "superseded")));
        Assert.True(File.Exists(Path.Combine(archived, "checkpoints", "step_0000006", "COMPLETE")));
        Assert.True(File.Exists(Path.Combine(archived, "DONE.json")));
    }

    [Fact]
    public async Task An_unsafe_stage_name_fails_the_launch_without_touching_the_disk()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 4) with { Stage = "../../escape" });

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Contains("not a safe name", failed.Reason);
        Assert.Empty(fixture.Events.Of<TrainingStarted>());
        Assert.False(Directory.Exists(Path.Combine(fixture.StateDir, "runs")));
    }
}
