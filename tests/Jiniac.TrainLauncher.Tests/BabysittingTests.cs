using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>
/// The done-when of babysitting: a trainer killed, hung or fed a bad batch is recovered without anyone, the
/// AlertRaised events (what the run's journal records) say what was done, and the stage still completes.
/// </summary>
public sealed class BabysittingTests
{
    private static readonly Dictionary<string, string> Slow = new() { ["CONTRACT_TRAINER_STEP_SECONDS"] = "0.02" };

    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    private static Dictionary<string, string> With(params (string Name, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>(Slow);
        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }

        return environment;
    }

    [Fact]
    public async Task A_trainer_killed_with_SIGKILL_mid_stage_is_resumed_from_its_checkpoint()
    {
        await using var fixture = await LauncherFixture.StartAsync(Slow);
        await SendAsync(fixture, LauncherFixture.Command(steps: 30));
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 8);

        await SignalTrainerAsync(fixture, "KILL");

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();
        Assert.Equal(30, completed.FinalStep);
        // TrainingCompleted lists every checkpoint the attempt has on disk, before and after the kill: those reported.
        Assert.Equal(
            fixture.Events.Of<CheckpointSaved>().Select(c => (c.Step, c.Tokens, c.Loss, c.Folder)).Distinct().OrderBy(c => c.Step),
            completed.Checkpoints.Select(c => (c.Step, c.Tokens, c.Loss, c.Folder)));
        Assert.Equal(30, completed.Checkpoints[^1].Step);
        var alert = Assert.Single(fixture.Events.Of<AlertRaised>());
        Assert.Equal(("trainer-restarted", 1), (alert.Kind, alert.Attempt));
        Assert.Contains("exit code 137: killed by SIGKILL", alert.Message);
        Assert.NotNull(alert.Step);
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.InRange(starts[1].ResumedFromStep ?? 0, 8, 29);
    }

    [Fact]
    public async Task A_SIGSTOPped_trainer_is_found_stalled_continued_stopped_and_resumed()
    {
        await using var fixture = await LauncherFixture.StartAsync(Slow);
        var supervision = LauncherFixture.Supervision with { StallMinSeconds = 3 };
        await SendAsync(fixture, LauncherFixture.Command(steps: 60, supervision: supervision));
        await fixture.Events.WaitForAsync<TrainingProgressed>(p => p.Step >= 5);

        await SignalTrainerAsync(fixture, "STOP");

        var stalled = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "trainer-stalled");
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();
        Assert.Equal(60, completed.FinalStep);
        Assert.Contains("no new step for", stalled.Message);
        Assert.Contains("max(stall_factor × median step time, stall_min_seconds)", stalled.Message);
        var restarted = fixture.Events.Of<AlertRaised>().First(a => a.Kind == "trainer-restarted");
        Assert.Contains("the trainer stalled", restarted.Message);
        // SIGCONT let the stopped trainer act on SIGTERM: it saved where it was, so no SIGKILL was needed.
        Assert.DoesNotContain(fixture.Events.Of<AlertRaised>(), a => a.Kind == "trainer-killed");
        Assert.Contains("stopped by signal at step", await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));
        Assert.True(fixture.Events.Of<TrainingStarted>()[1].ResumedFromStep >= stalled.Step);
    }

    [Fact]
    public async Task A_hung_trainer_deaf_to_SIGTERM_is_killed_after_the_grace_and_resumed()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_HANG_AT_STEP", "6")));
        var supervision = LauncherFixture.Supervision with { StallMinSeconds = 3, StopGraceSeconds = 1 };
        await SendAsync(fixture, LauncherFixture.Command(steps: 12, supervision: supervision));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Equal(12, completed.FinalStep);
        var kinds = fixture.Events.Of<AlertRaised>().Select(a => a.Kind).ToList();
        Assert.Equal(["trainer-stalled", "trainer-killed", "trainer-restarted"], kinds);
        Assert.Equal(5, fixture.Events.Of<AlertRaised>()[0].Step);
        Assert.Equal(4, fixture.Events.Of<TrainingStarted>()[1].ResumedFromStep);
    }

    [Fact]
    public async Task A_bad_batch_is_rolled_back_to_the_checkpoint_before_it_and_skipped()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_SPIKE_AT_STEP", "7")));
        await SendAsync(fixture, LauncherFixture.Command(steps: 16));

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();

        Assert.Equal(16, completed.FinalStep);
        Assert.Empty(fixture.Events.Of<TrainingFailed>());
        var alerts = fixture.Events.Of<AlertRaised>();
        Assert.Equal(["loss-spike", "rolled-back"], alerts.Select(a => a.Kind));
        Assert.Equal(7, alerts[0].Step);
        Assert.Contains("not finite", alerts[0].Message);
        Assert.Equal(4, alerts[1].Step);
        Assert.Contains("skipping batches [7, 8)", alerts[1].Message);

        // The skip range changed JOB.json but not the job's identity: the resume took the old checkpoint.
        var starts = fixture.Events.Of<TrainingStarted>();
        Assert.Equal(2, starts.Count);
        Assert.Equal(4, starts[1].ResumedFromStep);
        var job = fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json"));
        var skips = job.GetProperty("skip_batches").EnumerateArray().Select(r => (r.GetProperty("from").GetInt64(), r.GetProperty("to").GetInt64()));
        Assert.Equal([(2L, 3L), (7L, 8L)], skips);
        var hash = job.GetProperty("job_hash").GetString();
        Assert.Equal(hash, StateHash(fixture.CheckpointFolder(4)));
        Assert.Equal(hash, StateHash(fixture.CheckpointFolder(16)));

        // Checkpoints written after step 4 by the diverged trainer are kept, out of the lineage.
        var rolledBack = Assert.Single(Directory.GetDirectories(Path.Combine(fixture.TrainDir, "rolled-back")));
        var aside = Directory.GetDirectories(rolledBack).Select(d => long.Parse(Path.GetFileName(d)["step_".Length..], CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(aside);
        Assert.All(aside, step => Assert.True(step > 4));

        // The later line for a step wins: after the rollback every trained step has a finite loss again.
        var losses = new SortedDictionary<long, JsonValueKind>();
        foreach (var line in await File.ReadAllLinesAsync(Path.Combine(fixture.TrainDir, "metrics.jsonl")))
        {
            var o = JsonDocument.Parse(line).RootElement;
            losses[o.GetProperty("step").GetInt64()] = o.GetProperty("loss").ValueKind;
        }

        Assert.All(Enumerable.Range(8, 9), step => Assert.Equal(JsonValueKind.Number, losses[step]));
        Assert.Equal(JsonValueKind.Null, losses[7]);
    }

    [Fact]
    public async Task A_relaunch_with_a_new_skip_range_resumes_from_the_jobs_checkpoints_and_keeps_the_earlier_skips()
    {
        await using var fixture = await LauncherFixture.StartAsync(Slow);
        await SendAsync(fixture, LauncherFixture.Command(steps: 40));
        await fixture.Events.WaitForAsync<CheckpointSaved>(c => c.Step == 8);
        await SendAsync(fixture, new StopTraining { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Reason = "skip a bad shard" });
        await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == "training-stopped");

        // The range to skip lies past where attempt 1 stopped (a loaded machine lets it run on a while after the stop),
        // so the resumed attempt really meets it.
        var stoppedAt = fixture.Events.Of<CheckpointSaved>().Where(c => c.Attempt == 1).Max(c => c.Step);
        Assert.True(stoppedAt <= 34, $"attempt 1 ran to step {stoppedAt} before it stopped: no room left to skip in 40 steps");
        var from = stoppedAt + 2;

        // skip_batches is not part of the job's identity: a new range neither supersedes the checkpoints nor drops old ranges.
        await SendAsync(fixture, LauncherFixture.Command(steps: 40, attempt: 2) with { SkipBatches = [new BatchRange { From = from, To = from + 2 }] });
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);

        Assert.Equal(40, completed.FinalStep);
        Assert.Equal(stoppedAt, fixture.Events.Of<TrainingStarted>().Single(s => s.Attempt == 2).ResumedFromStep);
        Assert.False(Directory.Exists(Path.Combine(fixture.TrainDir, "superseded")));
        var job = fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json"));
        var skips = job.GetProperty("skip_batches").EnumerateArray().Select(r => (r.GetProperty("from").GetInt64(), r.GetProperty("to").GetInt64()));
        Assert.Equal([(2L, 3L), (from, from + 2)], skips);
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains($"step {from} skipped", log);
        Assert.Contains($"step {from + 1} skipped", log);
    }

    [Fact]
    public async Task With_spike_policy_stop_a_spike_fails_the_stage_with_the_reason()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_SPIKE_AT_STEP", "5")));
        var supervision = LauncherFixture.Supervision with { SpikePolicy = SpikePolicies.Stop };
        await SendAsync(fixture, LauncherFixture.Command(steps: 200, supervision: supervision));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Contains("loss spike at step 5", failed.Reason);
        Assert.Contains("(spike_policy: stop)", failed.Reason);
        Assert.Contains("simulated bad batch at step 5", failed.Reason);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Equal("error", Assert.Single(fixture.Events.Of<AlertRaised>()).Severity);
        Assert.Empty(fixture.Events.Of<TrainingCompleted>());
    }

    [Fact]
    public async Task With_spike_policy_alert_a_spike_is_reported_once_and_training_goes_on()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_SPIKE_AT_STEP", "5")));
        await SendAsync(fixture, LauncherFixture.Command(steps: 12, supervision: LauncherFixture.Supervision with { SpikePolicy = SpikePolicies.Alert }));

        await fixture.Events.WaitForAsync<TrainingCompleted>();

        // Steps 5..12 all log a null loss: one alert for the whole diverged stretch, no restart.
        var alert = Assert.Single(fixture.Events.Of<AlertRaised>());
        Assert.Equal((TrainingAlertKinds.LossSpike, 5L), (alert.Kind, alert.Step));
        Assert.Contains("spike_policy alert: training goes on", alert.Message);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
    }

    [Fact]
    public async Task A_spike_after_max_rollbacks_fails_the_stage()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_SPIKE_AT_STEP", "5")));
        await SendAsync(fixture, LauncherFixture.Command(steps: 200, supervision: LauncherFixture.Supervision with { MaxRollbacks = 0 }));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Contains("loss spike at step 5", failed.Reason);
        Assert.Contains("after 0 rollbacks (max_rollbacks)", failed.Reason);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
    }

    [Fact]
    public async Task Restarts_wait_an_exponential_back_off_on_the_launchers_TimeProvider()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fixture = await LauncherFixture.StartAsync(
            new Dictionary<string, string> { ["CONTRACT_TRAINER_CRASH_AT_STEP"] = "3", ["CONTRACT_TRAINER_CRASH_TIMES"] = "2" },
            services: s => s.AddSingleton<TimeProvider>(time));
        var supervision = LauncherFixture.Supervision with { RestartBackoffSeconds = 60, RestartBackoffMaxSeconds = 600 };
        await SendAsync(fixture, LauncherFixture.Command(steps: 10, supervision: supervision));

        // The trainer runs on no clock of ours; only the back-off waits on the fake one, so each start needs its time.
        foreach (var (restart, backoff) in new[] { (1, 60), (2, 120) })
        {
            var alert = await fixture.Events.WaitForAsync<AlertRaised>(a => a.Kind == TrainingAlertKinds.Restarted && a.Message.Contains($"restart {restart} of 3", StringComparison.Ordinal));
            Assert.Contains($"in {backoff} s", alert.Message);
            var advanced = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (fixture.Events.Of<TrainingStarted>().Count <= restart)
            {
                Assert.True(DateTime.UtcNow < deadline, $"restart {restart} never came ({advanced} fake seconds)");
                time.Advance(TimeSpan.FromSeconds(1));
                advanced++;
                await Task.Delay(5);
            }

            Assert.True(advanced >= backoff, $"restart {restart} came after {advanced} s of a {backoff} s back-off");
        }

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>();
        Assert.Equal(10, completed.FinalStep);
    }

    [Fact]
    public async Task An_invalid_job_exit_is_fatal_at_once()
    {
        await using var fixture = await LauncherFixture.StartAsync(With(("CONTRACT_TRAINER_CRASH_AT_STEP", "3"), ("CONTRACT_TRAINER_CRASH_EXIT_CODE", "2")));
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();

        Assert.Equal((2, 0), (failed.ExitCode, failed.Restarts));
        Assert.Contains("bad arguments or an invalid job", failed.Reason);
        Assert.Contains("simulated crash at step 3", failed.Reason);
        Assert.Single(fixture.Events.Of<TrainingStarted>());
        Assert.Empty(fixture.Events.Of<AlertRaised>());
    }

    [Fact]
    public async Task Pruning_deletes_checkpoints_by_step_but_never_the_latest_or_the_one_resumed_from()
    {
        await using var fixture = await LauncherFixture.StartAsync(new Dictionary<string, string> { ["CONTRACT_TRAINER_CRASH_AT_STEP"] = "6" });
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));
        await fixture.Events.WaitForAsync<TrainingCompleted>();
        Assert.Equal(fixture.CheckpointFolder(4), fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json")).GetProperty("resume_from").GetString());

        await SendAsync(fixture, new PruneCheckpoints { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Steps = [0, 4, 8, 10, 99] });
        var deleted = await fixture.Events.WaitForAsync<CheckpointsDeleted>();

        Assert.Equal([8L], deleted.Steps);
        Assert.Equal(3, deleted.Refused.Count);
        Assert.Contains(deleted.Refused, r => r.StartsWith("step_0000004: the trainer resumes from it", StringComparison.Ordinal));
        Assert.Contains(deleted.Refused, r => r.StartsWith("step_0000010: the latest complete checkpoint", StringComparison.Ordinal));
        Assert.False(Directory.Exists(fixture.CheckpointFolder(8)));
        Assert.True(File.Exists(Path.Combine(fixture.CheckpointFolder(4), "COMPLETE")));
        Assert.True(File.Exists(Path.Combine(fixture.CheckpointFolder(10), "COMPLETE")));
    }

    private static string? StateHash(string checkpoint) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(checkpoint, "trainer_state.json"))).RootElement.GetProperty("job_hash").GetString();

    /// <summary>Sends a signal to the running trainer, found by its pid file (kill(1): the test needs no native code).</summary>
    private static async Task SignalTrainerAsync(LauncherFixture fixture, string signal)
    {
        var pid = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.TrainDir, "trainer.pid"))).RootElement.GetProperty("Pid").GetInt32();
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}
