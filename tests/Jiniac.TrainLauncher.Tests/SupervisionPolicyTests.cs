using Jiniac.Contracts.Pipeline;
using Jiniac.TrainLauncher.Supervision;
using Microsoft.Extensions.Time.Testing;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>The babysitting decisions on their own: exit classes, back-off, stall deadlines, throughput and loss spikes.</summary>
public sealed class SupervisionPolicyTests
{
    [Theory]
    [InlineData(137, "", false, "SIGKILL")]
    [InlineData(75, "", false, "preemption")]
    [InlineData(143, "", false, "preemption")]
    [InlineData(134, "", false, "SIGABRT")]
    [InlineData(1, "[rank3]: Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9, OpType=ALLREDUCE) ran for 600000 ms", false, "NCCL timeout")]
    [InlineData(1, "slurmstepd: error: *** JOB 42 ON node7 CANCELLED AT 2026-12-01T03:00:00 DUE TO PREEMPTION ***", false, "preemption")]
    [InlineData(1, "RuntimeError: something odd", false, "a crash")]
    [InlineData(2, "", true, "invalid job")]
    [InlineData(1, "pretrain_gpt.py: error: unrecognized arguments: --bogus", true, "configuration error")]
    [InlineData(1, "ModuleNotFoundError: No module named 'apex'\nNCCL timeout", true, "module is missing")]
    public void Exits_are_classified_by_code_and_log_tail(int exitCode, string tail, bool fatal, string reason)
    {
        var result = ExitClassifier.Classify(exitCode, tail, step: 10, crashesAtStep: 1, sameStepCrashes: 3);

        Assert.Equal(fatal ? ExitVerdict.Fatal : ExitVerdict.Transient, result.Verdict);
        Assert.Contains(reason, result.Reason);
    }

    [Fact]
    public void The_same_step_crashing_repeatedly_is_fatal_even_when_the_exit_looks_transient()
    {
        var policy = new RestartPolicy(new SupervisionSpec { SameStepCrashes = 2 }, maxRestarts: 10);
        Assert.Equal(1, policy.RecordCrash(40));
        Assert.Equal(1, policy.RecordCrash(41));
        var crashes = policy.RecordCrash(40);

        var result = ExitClassifier.Classify(137, "", 40, crashes, sameStepCrashes: 2);

        Assert.Equal(ExitVerdict.Fatal, result.Verdict);
        Assert.Contains("crashed 2 times at step 40", result.Reason);
    }

    [Fact]
    public void Back_off_doubles_per_restart_up_to_its_cap_and_the_budget_runs_out()
    {
        var policy = new RestartPolicy(new SupervisionSpec { RestartBackoffSeconds = 10, RestartBackoffMaxSeconds = 35 }, maxRestarts: 4);

        Assert.Equal(
            [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(35)],
            [policy.NextRestart(), policy.NextRestart(), policy.NextRestart(), policy.NextRestart()]);
        Assert.True(policy.Exhausted);
        Assert.Equal(TimeSpan.FromSeconds(35), policy.Backoff(1000));
    }

    [Fact]
    public void A_stall_deadline_is_the_startup_grace_then_a_multiple_of_the_median_step_time_with_a_floor()
    {
        var time = new FakeTimeProvider();
        var stall = new StallDetector(new SupervisionSpec { StartupGraceSeconds = 300, StallFactor = 10, StallMinSeconds = 30 }, time);
        stall.Started();

        time.Advance(TimeSpan.FromSeconds(299));
        Assert.Null(stall.Check());
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(300), Assert.IsType<Stall>(stall.Check()).Deadline);

        // Steps of 1 s: 10 × 1 s is under the 30 s floor.
        stall.Observe(1);
        for (var step = 2; step <= 6; step++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            stall.Observe(step);
        }

        Assert.Equal(TimeSpan.FromSeconds(30), stall.Deadline);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(stall.Check());
        time.Advance(TimeSpan.FromSeconds(2));
        var found = Assert.IsType<Stall>(stall.Check());
        Assert.Equal(6, found.LastStep);

        // Slow steps (logged every 2 steps, 8 s per step) move the deadline to 10 × 8 s.
        for (var step = 8; step <= 30; step += 2)
        {
            time.Advance(TimeSpan.FromSeconds(16));
            stall.Observe(step);
        }

        Assert.Equal(TimeSpan.FromSeconds(80), stall.Deadline);

        // A restart gets the startup grace again; the step times are the stage's and are kept.
        stall.Started();
        Assert.Equal(TimeSpan.FromSeconds(300), stall.Deadline);
        stall.Observe(21);
        Assert.Equal(TimeSpan.FromSeconds(80), stall.Deadline);
    }

    [Fact]
    public void Low_throughput_alerts_once_per_sustained_drop_against_the_running_median()
    {
        var monitor = new ThroughputMonitor(0.5);
        var step = 0;
        for (; step < ThroughputMonitor.MinSamples + (2 * ThroughputMonitor.Recent); step++)
        {
            Assert.Null(monitor.Observe(step, 1000 + step));
        }

        // One slow line (the step after a checkpoint save) is no drop.
        Assert.Null(monitor.Observe(step++, 10));
        Assert.Null(monitor.Observe(step++, 1000));

        // A sustained drop is, once: the median of the last five lines falls below half the history's.
        LowThroughput? alert = null;
        for (var i = 0; i < 3 && alert is null; i++)
        {
            alert = monitor.Observe(step++, 300);
        }

        Assert.NotNull(alert);
        Assert.Equal(300, alert.TokensPerSecond);
        Assert.InRange(alert.Median, 1000, 1020);
        Assert.Null(monitor.Observe(step++, 300));

        // Recovered, then down again: a second alert.
        for (var i = 0; i < ThroughputMonitor.Recent; i++)
        {
            Assert.Null(monitor.Observe(step++, 1000));
        }

        alert = null;
        for (var i = 0; i < ThroughputMonitor.Recent && alert is null; i++)
        {
            alert = monitor.Observe(step++, 100);
        }

        Assert.NotNull(alert);

        // After a restart the first lines are warm-up, however slow.
        monitor.Started();
        for (var i = 0; i < ThroughputMonitor.Recent; i++)
        {
            Assert.Null(monitor.Observe(step++, 1));
        }

        Assert.Null(new ThroughputMonitor(0).Observe(1, 1));
    }

    [Fact]
    public void A_ratio_spike_is_a_loss_above_k_times_the_rolling_median()
    {
        var spikes = new LossSpikeDetector(new SupervisionSpec { SpikeMethod = SpikeMethods.Ratio, SpikeThreshold = 2, SpikeWindow = 5 });
        double[] losses = [9, 8, 7, 6, 5, 4.5, 4.2];
        for (var i = 0; i < losses.Length; i++)
        {
            Assert.Null(spikes.Observe(i + 1, losses[i]));
        }

        // Median of the last 5 (6, 5, 4.5, 4.2, 7) is 5: 9.9 is under 10, 10.5 is over.
        Assert.Null(spikes.Observe(8, 9.9));
        var spike = Assert.IsType<LossSpike>(spikes.Observe(9, 10.5 * 1.2));
        Assert.Equal(9, spike.Step);
        Assert.Equal(9, spike.FirstSuspectStep);
        Assert.Contains("above 2 × the rolling median", spike.Reason);
        // A spike does not enter the window: the next spiking line spikes too, and the suspects start at the same step.
        Assert.Equal(9, Assert.IsType<LossSpike>(spikes.Observe(10, 12)).FirstSuspectStep);
    }

    [Fact]
    public void A_zscore_spike_is_measured_in_standard_deviations()
    {
        var spikes = new LossSpikeDetector(new SupervisionSpec { SpikeMethod = SpikeMethods.ZScore, SpikeThreshold = 3, SpikeWindow = 10 });
        for (var step = 1; step <= 10; step++)
        {
            Assert.Null(spikes.Observe(step, step % 2 == 0 ? 3.1 : 2.9));
        }

        // Mean 3, deviation 0.1: 3.25 is 2.5 deviations up, 3.35 is 3.5.
        Assert.Null(spikes.Observe(11, 3.25));
        Assert.Contains("standard deviations", Assert.IsType<LossSpike>(spikes.Observe(12, 3.5)).Reason);
    }

    [Fact]
    public void A_non_finite_loss_is_always_a_spike_and_a_rollback_forgets_the_later_history()
    {
        var spikes = new LossSpikeDetector(new SupervisionSpec());
        var early = Assert.IsType<LossSpike>(spikes.Observe(1, double.NaN));
        Assert.Equal(1, early.FirstSuspectStep);
        Assert.Contains("not finite", early.Reason);

        for (var step = 1; step <= 12; step++)
        {
            Assert.Null(spikes.Observe(step, 3));
        }

        Assert.Equal(13, Assert.IsType<LossSpike>(spikes.Observe(13, double.PositiveInfinity)).FirstSuspectStep);
        spikes.RollBack(8);
        Assert.Equal(8, spikes.LastGoodStep);
        // Steps 9.. are logged again after the resume, as new history.
        Assert.Null(spikes.Observe(9, 3));
        Assert.Equal(10, Assert.IsType<LossSpike>(spikes.Observe(11, 7)).FirstSuspectStep);
    }
}
