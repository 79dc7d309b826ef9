using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.Megatron;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests.Slurm;

/// <summary>Stages on a real single-node Slurm (SlurmFixture), driving ContractTrainer.sh as the job's srun step.</summary>
[Collection(SlurmFixture.Collection)]
public sealed class SlurmBackendTests(SlurmFixture slurm)
{
    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    private Task<LauncherFixture> StartAsync(string stepSeconds) =>
        LauncherFixture.StartAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = stepSeconds }, Configuration);

    private Dictionary<string, string?> Configuration => new()
    {
        ["Slurm:Conf"] = slurm.Conf,
        ["Slurm:PollInterval"] = "00:00:00.100",
    };

    private static LaunchTraining OnSlurm(LaunchTraining command) => command with
    {
        Training = command.Training with
        {
            Backend = new BackendSpec
            {
                Kind = BackendSpec.Slurm,
                TimeLimit = "10",
                SignalGraceSeconds = 30,
                Setup = ["echo \"slurm-setup-ran in job $SLURM_JOB_ID with $JINIAC_FROM_PIPELINE\""],
                Env = ["JINIAC_FROM_PIPELINE=pipeline-env"],
            },
        },
    };

    private static string JobNumber(TrainingStarted started) => started.JobId["slurm:".Length..];

    /// <summary>Waits (up to 90 s) until the node reads idle, mixed or allocated: up and responding ("*" marks not responding).</summary>
    private async Task NodeUpAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var state = "";
        while (DateTime.UtcNow < deadline)
        {
            state = (await slurm.RunAsync("sinfo", "-h", "-N", "-o", "%T")).Trim();
            if (state is "idle" or "mixed" or "allocated")
            {
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail($"the Slurm node did not come back within 90 s after the node-failure test: {state}");
    }

    [Fact]
    public async Task A_stage_on_Slurm_completes_with_the_trainers_numbers()
    {
        await using var fixture = await StartAsync("0.01");
        await SendAsync(fixture, OnSlurm(LauncherFixture.Command(steps: 10)));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(120));

        var started = Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal("slurm", started.Backend);
        Assert.Matches("^slurm:[0-9]+$", started.JobId);
        Assert.Equal((10L, 10L * LauncherFixture.BatchTokens), (completed.FinalStep, completed.Tokens));
        Assert.Equal(fixture.CheckpointFolder(10), completed.CheckpointFolder);
        // The bus delivers events to the recorder concurrently: the ones published just before completion may land after it.
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 8);
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 4);
        Assert.Equal([4L, 8L, 10L], fixture.Events.Of<CheckpointSaved>().Select(c => c.Step).Order());
        await fixture.Events.WaitForAsync<TrainingProgressed>(p => p.Step == 10);

        // Slurm itself ran it: the job is known to slurmctld as completed, and its batch script ran the pipeline's setup.
        var job = await slurm.RunAsync("scontrol", "show", "job", "-o", JobNumber(started));
        Assert.Contains("JobState=COMPLETED", job);
        Assert.Contains("ExitCode=0:0", job);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains($"slurm-setup-ran in job {JobNumber(started)} with pipeline-env", log);
        Assert.Contains("train: done at step 10", log);
        var script = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "slurm.sbatch"));
        Assert.Contains("#SBATCH --time=10\n", script);
        Assert.Contains("#SBATCH --signal=B:TERM@30\n", script);
        Assert.False(File.Exists(Path.Combine(fixture.TrainDir, "slurm.job")));
    }

    [Fact]
    public async Task StopTraining_on_Slurm_signals_the_step_the_trainer_saves_and_the_job_leaves_the_queue()
    {
        await using var fixture = await StartAsync("0.05");
        await SendAsync(fixture, OnSlurm(LauncherFixture.Command(steps: 2000, checkpointInterval: 1000)));
        await fixture.Events.WaitForAsync<TrainingProgressed>(timeout: TimeSpan.FromSeconds(120));

        await SendAsync(fixture, new StopTraining { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Reason = "operator asked" });

        var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "training-stopped", TimeSpan.FromSeconds(120));
        Assert.Equal("operator asked", alert.Message);
        var started = Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Empty(await slurm.RunAsync("squeue", "-h", "-j", JobNumber(started), "-o", "%T"));
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains("stopped by signal at step", log);
        // scancel --signal=TERM reached the trainer, which saved and exited 75 (the batch script recorded it).
        Assert.Equal("75", (await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, ".slurm", JobNumber(started) + ".exit"))).Trim());
        var saved = Assert.Single(Directory.GetDirectories(Path.Combine(fixture.TrainDir, "checkpoints"), "step_*"));
        Assert.True(File.Exists(Path.Combine(saved, "COMPLETE")));
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
    }

    [Fact]
    public async Task A_launcher_restart_leaves_the_Slurm_job_running_and_the_next_host_follows_it_to_the_end()
    {
        var environment = new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.05" };
        await using var fixture = await LauncherFixture.StartAsync(environment, Configuration);
        var command = OnSlurm(LauncherFixture.Command(steps: 60, checkpointInterval: 20));
        await SendAsync(fixture, command);
        var first = await fixture.Events.WaitForAsync<TrainingStarted>(timeout: TimeSpan.FromSeconds(120));
        await fixture.Events.WaitForAsync<TrainingProgressed>(timeout: TimeSpan.FromSeconds(120));

        // The host goes (a deploy, a crash of the launcher): the Slurm job does not notice.
        await fixture.RestartHostAsync(environment, Configuration);
        Assert.Equal("RUNNING", (await slurm.RunAsync("squeue", "-h", "-j", JobNumber(first), "-o", "%T")).Trim());

        // The orchestrator re-issues the launch; the new host follows the same job rather than stopping it.
        await SendAsync(fixture, command);
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(120));
        var again = Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal(first.JobId, again.JobId);
        Assert.Null(again.ResumedFromStep);
        Assert.Equal(60, completed.FinalStep);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.DoesNotContain("stopped by signal", log);
        Assert.Single(log.Split('\n'), l => l.StartsWith("slurm-setup-ran", StringComparison.Ordinal));
        Assert.Contains("JobState=COMPLETED", await slurm.RunAsync("scontrol", "show", "job", "-o", JobNumber(first)));
    }

    [Fact]
    public async Task A_SIGTERM_the_launcher_did_not_send_is_requeued_without_counting_as_a_crash()
    {
        await using var fixture = await StartAsync("0.05");
        await SendAsync(fixture, OnSlurm(LauncherFixture.Command(steps: 60, checkpointInterval: 5, maxRestarts: 0)));
        var first = await fixture.Events.WaitForAsync<TrainingStarted>(timeout: TimeSpan.FromSeconds(120));
        await fixture.Events.WaitForAsync<CheckpointSaved>(timeout: TimeSpan.FromSeconds(120));

        // What Slurm's --signal=B:TERM@N time-limit warning or a preemption notice does to the trainer; an operator may do it too.
        await slurm.RunAsync("scancel", "--signal=TERM", JobNumber(first));

        var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "trainer-requeued", TimeSpan.FromSeconds(120));
        Assert.Contains("saved and exited on SIGTERM", alert.Message);
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(120));
        Assert.Equal(60, completed.FinalStep);
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.NotNull(starts[1].ResumedFromStep);
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
    }

    [Fact]
    public async Task A_hung_trainer_on_Slurm_is_stopped_through_scancel_and_its_job_resubmitted()
    {
        await using var fixture = await LauncherFixture.StartAsync(
            new Dictionary<string, string> { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.02", ["CONTRACT_TRAINER_HANG_AT_STEP"] = "6" }, Configuration);
        var supervision = LauncherFixture.Supervision with { StallMinSeconds = 3, StopGraceSeconds = 1 };
        await SendAsync(fixture, OnSlurm(LauncherFixture.Command(steps: 12, supervision: supervision)));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(120));

        // The babysitting is the same as for a local child; its stops go through the Slurm run (scancel).
        Assert.Equal(12, completed.FinalStep);
        var alerts = fixture.Events.Of<AlertRaised>();
        Assert.Equal(["trainer-stalled", "trainer-killed", "trainer-restarted"], alerts.Select(a => a.Kind));
        Assert.Equal(5, alerts[0].Step);
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.NotEqual(starts[0].JobId, starts[1].JobId);
        Assert.Equal(4, starts[1].ResumedFromStep);
        Assert.Contains(starts[0].JobId, alerts[1].Message);
        Assert.DoesNotContain("RUNNING", await slurm.RunAsync("squeue", "-h", "-j", JobNumber(starts[0]), "-o", "%T"));
    }

    [Fact]
    public async Task A_node_failure_resubmits_the_stage_which_resumes_from_its_latest_complete_checkpoint()
    {
        await using var fixture = await StartAsync("0.05");
        await SendAsync(fixture, OnSlurm(LauncherFixture.Command(steps: 60, checkpointInterval: 5)));
        var saved = await fixture.Events.WaitForAsync<CheckpointSaved>(timeout: TimeSpan.FromSeconds(120));

        try
        {
            // The node fails under the running job: slurmctld ends it NODE_FAIL.
            await slurm.RunAsync("scontrol", "update", "NodeName=localhost", "State=DOWN", "Reason=jiniac-test-node-failure");
            var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "trainer-restarted", TimeSpan.FromSeconds(120));
            Assert.Contains("NODE_FAIL", alert.Message);
        }
        finally
        {
            // slurm.conf's ReturnToService=2 may have brought the node back already (slurmd re-registered); else it is resumed here.
            var state = (await slurm.RunAsync("sinfo", "-h", "-N", "-o", "%T")).Trim();
            if (state.StartsWith("down", StringComparison.Ordinal) || state.StartsWith("drain", StringComparison.Ordinal))
            {
                try
                {
                    await slurm.RunAsync("scontrol", "update", "NodeName=localhost", "State=RESUME");
                }
                catch (InvalidOperationException e) when (e.Message.Contains("Invalid node state", StringComparison.Ordinal))
                {
                    // ReturnToService came first, between sinfo and the resume (a full suite saw it): it must be up now.
                    var now = (await slurm.RunAsync("sinfo", "-h", "-N", "-o", "%T")).Trim();
                    Assert.False(now.StartsWith("down", StringComparison.Ordinal) || now.StartsWith("drain", StringComparison.Ordinal), $"node {now}: {e.Message}");
                }
            }

            // The node must take jobs again before the next test submits one (a suite once ran the hung-trainer test
            // next, whose job waited on a node still coming back, past its deadline).
            await NodeUpAsync();
        }

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(180));
        Assert.Equal(60, completed.FinalStep);
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.NotEqual(starts[0].JobId, starts[1].JobId);
        Assert.Equal(1, starts[1].Restart);
        Assert.True(starts[1].ResumedFromStep >= saved.Step, $"resumed from {starts[1].ResumedFromStep}, a checkpoint at {saved.Step} existed");
        Assert.Contains("JobState=NODE_FAIL", await slurm.RunAsync("scontrol", "show", "job", "-o", JobNumber(starts[0])));
    }

    [Fact]
    public async Task A_stage_on_Slurm_trains_with_the_reference_trainer()
    {
        // tools/Jiniac.Trainer's build output, built before this project (a non-referencing ProjectReference).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !Directory.Exists(Path.Combine(root.FullName, "tools", "Jiniac.Trainer")))
        {
            root = root.Parent;
        }

        var trainer = Path.Combine(root!.FullName, "tools", "Jiniac.Trainer", "bin", configuration, "net10.0", "jiniac-trainer.dll");
        Assert.True(File.Exists(trainer), $"{trainer} is not built");
        await using var fixture = await LauncherFixture.StartAsync(
            settings: new Dictionary<string, string?>
            {
                ["Trainer"] = trainer,
                ["Slurm:Conf"] = slurm.Conf,
                ["Slurm:PollInterval"] = "00:00:00.200",
            });

        // A shard long enough for the reference trainer's windows: 64 documents of 63 tokens and an end-of-document token.
        var shard = Path.Combine(fixture.StateDir, "shard-ref");
        using (var writer = new IndexedDatasetWriter(shard, IndexedDatasetDType.UInt16))
        {
            for (var d = 0; d < 64; d++)
            {
                writer.AddDocument([.. Enumerable.Range(0, 63).Select(i => (4 + ((d * 7 + i * 3) % 60))), 3]);
            }

            writer.Complete();
        }

        await fixture.Host.Blobs.PutFileAsync("tokenized/shard-ref.bin", shard + ".bin", move: false, CancellationToken.None);
        await fixture.Host.Blobs.PutFileAsync("tokenized/shard-ref.idx", shard + ".idx", move: false, CancellationToken.None);
        const int steps = 20;
        var command = OnSlurm(LauncherFixture.Command(steps: steps, checkpointInterval: 10)) with
        {
            Data = [new DataPrefix { Prefix = "tokenized/shard-ref", Weight = 1 }],
            Model = new ModelSpec { HiddenSize = 16, IntermediateSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, MaxPositionEmbeddings = 32 },
        };
        command = command with { Training = command.Training with { Threads = 1 } };
        await SendAsync(fixture, command);

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromSeconds(300));

        var started = Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal("slurm", started.Backend);
        Assert.Equal(steps, completed.FinalStep);
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 10);
        Assert.Equal([10L, 20L], fixture.Events.Of<CheckpointSaved>().Select(c => c.Step).Order());
        Assert.True(double.IsFinite(completed.FinalLoss) && completed.FinalLoss > 0, $"final loss {completed.FinalLoss}");
        // The reference trainer's own outputs: HF weights in the final checkpoint, one metrics line per trained step.
        Assert.True(File.Exists(Path.Combine(completed.CheckpointFolder, "model.safetensors")));
        Assert.Contains("JobState=COMPLETED", await slurm.RunAsync("scontrol", "show", "job", "-o", JobNumber(started)));
        Assert.Equal(steps - 1, File.ReadAllLines(Path.Combine(fixture.TrainDir, "metrics.jsonl")).Length);
    }
}
