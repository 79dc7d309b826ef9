using System.Globalization;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.TrainLauncher.Backends;
using Jiniac.TrainLauncher.Supervision;

namespace Jiniac.TrainLauncher;

internal enum InterventionAction
{
    /// <summary>Stop the trainer and resume it from the latest complete checkpoint (a stall); counts against max_restarts.</summary>
    Restart,
    /// <summary>Stop the trainer, roll back to the last checkpoint before a loss spike and resume skipping its batches.</summary>
    RollBack,
    /// <summary>Stop the trainer; the stage fails.</summary>
    Fail,
}

internal sealed record Intervention(InterventionAction Action, string Message, LossSpike? Spike = null);

/// <summary>
/// The babysitting half of a training job: every metrics line goes past the loss-spike, throughput and stall
/// detectors; what they find is raised as AlertRaised (so it lands in the run's journal) and, per
/// training.supervision, acted on — the trainer stopped (SIGTERM, SIGKILL after stop_grace_seconds) and resumed,
/// rolled back past a bad batch, or the stage failed. It works on the seams alone: stops go through the backend's
/// run (a signal to a child process, scancel on Slurm), checkpoints and skip ranges through the trainer's adapter.
/// </summary>
internal sealed partial class TrainingJob
{
    public const string RolledBackFolder = "rolled-back";

    private SupervisionSpec _spec = new();
    private StallDetector? _stall;
    private LossSpikeDetector? _spikes;
    private ThroughputMonitor? _throughput;
    private Intervention? _intervention;
    private DateTimeOffset? _killAt;
    private long? _latestThisStart;
    private bool _spiking;
    private int _rollbacks;

    /// <summary>A trainer was (re)started from <paramref name="resumeStep"/>: the detectors keep the stage's history up to there.</summary>
    private void StartWatching(SupervisionSpec spec, long resumeStep)
    {
        _spec = spec;
        _stall ??= new StallDetector(spec, supervisor.Time);
        _spikes ??= new LossSpikeDetector(spec);
        _throughput ??= new ThroughputMonitor(spec.LowThroughputRatio);
        _stall.Started();
        _throughput.Started();
        _spikes.RollBack(resumeStep);
        _intervention = null;
        _killAt = null;
        _latestThisStart = null;
        _spiking = false;
    }

    private async Task ObserveAsync(List<MetricsLine> lines)
    {
        foreach (var line in lines)
        {
            _stall!.Observe(line.Step);
            _latestThisStart = Math.Max(_latestThisStart ?? 0, line.Step);
            if (_intervention is not null)
            {
                // The trainer is being stopped already; what it logs meanwhile changes nothing.
                continue;
            }

            if (_throughput!.Observe(line.Step, line.TokensPerSecond) is { } low)
            {
                await AlertAsync(TrainingAlertKinds.LowThroughput, "warning", low.Step,
                    $"{Format(low.TokensPerSecond)} tokens/s at step {Format(low.Step)} is below {Format(_spec.LowThroughputRatio)} × the stage's median {Format(low.Median)} tokens/s");
            }

            var spike = _spikes!.Observe(line.Step, line.Loss ?? double.NaN);
            if (spike is null)
            {
                _spiking = false;
            }
            else if (!_spiking)
            {
                // One decision per spike: a diverged run logs NaN on every line after it.
                _spiking = true;
                await OnSpikeAsync(spike);
            }
        }
    }

    private async Task OnSpikeAsync(LossSpike spike)
    {
        var what = $"loss spike at step {Format(spike.Step)}: {spike.Reason}";
        switch (_spec.SpikePolicy)
        {
            case SpikePolicies.Alert:
                await AlertAsync(TrainingAlertKinds.LossSpike, "warning", spike.Step, $"{what}; spike_policy alert: training goes on");
                break;
            case SpikePolicies.Stop:
                await AlertAsync(TrainingAlertKinds.LossSpike, "error", spike.Step, $"{what}; spike_policy stop: the trainer is stopped and the stage fails");
                Intervene(new Intervention(InterventionAction.Fail, $"{what} (spike_policy: stop)"));
                break;
            default:
                if (_rollbacks >= _spec.MaxRollbacks)
                {
                    var exhausted = $"{what}, after {Format(_rollbacks)} rollbacks (max_rollbacks)";
                    await AlertAsync(TrainingAlertKinds.LossSpike, "error", spike.Step, $"{exhausted}; the trainer is stopped and the stage fails");
                    Intervene(new Intervention(InterventionAction.Fail, exhausted));
                }
                else
                {
                    await AlertAsync(TrainingAlertKinds.LossSpike, "warning", spike.Step,
                        $"{what}; stopping the trainer to roll back to the last checkpoint before step {Format(spike.FirstSuspectStep)} and skip batches [{Format(spike.FirstSuspectStep)}, {Format(spike.Step + 1)})");
                    Intervene(new Intervention(InterventionAction.RollBack, what, spike));
                }

                break;
        }
    }

    /// <summary>Follows up on an intervention (SIGKILL past the grace) or looks for a stall.</summary>
    private async Task SuperviseAsync(ITrainerRun process, Task exited)
    {
        if (_intervention is null)
        {
            if (process.Queued)
            {
                // Time in a scheduler's queue is no startup time: the grace starts when the job does.
                _stall!.Started();
                return;
            }

            if (_stall!.Check() is { } stall)
            {
                var last = stall.LastStep is { } step ? $"after step {Format(step)}" : "since it started";
                var how = stall.LastStep is null ? "startup_grace_seconds" : "max(stall_factor × median step time, stall_min_seconds)";
                var message = $"no new step for {Format(stall.Silent.TotalSeconds)} s {last} (deadline {Format(stall.Deadline.TotalSeconds)} s: {how})";
                await AlertAsync(TrainingAlertKinds.Stalled, "warning", stall.LastStep, $"{message}; stopping the trainer (SIGTERM, SIGKILL after stop_grace_seconds) to resume it");
                Intervene(new Intervention(InterventionAction.Restart, $"the trainer stalled: {message}"));
            }

            return;
        }

        if (_killAt is { } at && supervisor.Time.GetUtcNow() >= at && !exited.IsCompleted)
        {
            _killAt = null;
            await AlertAsync(TrainingAlertKinds.Killed, "warning", _latestThisStart,
                $"the trainer ({process.JobId}) did not exit within stop_grace_seconds ({Format(_spec.StopGraceSeconds)} s) of SIGTERM: SIGKILL");
            process.ForceKill();
        }
    }

    private void Intervene(Intervention intervention)
    {
        _intervention = intervention;
        _killAt = supervisor.Time.GetUtcNow() + TimeSpan.FromSeconds(_spec.StopGraceSeconds);
        lock (_lock)
        {
            _process?.Terminate();
        }
    }

    /// <summary>
    /// Rolls the stage back to the last complete checkpoint before the spike's first suspect step and adds the suspect
    /// batches to the skip ranges. Later checkpoints leave the lineage: they are moved (kept) under rolled-back/, so no
    /// resume picks them and the trainer can write those steps anew.
    /// </summary>
    private async Task RollBackAsync(string dir, LossSpike spike, List<TrainJobRange> skips)
    {
        _rollbacks++;
        var from = spike.FirstSuspectStep;
        var to = spike.Step + 1;
        var target = _adapter!.Complete().FindLast(c => c.Step < from);
        var keep = target?.Step ?? 0;

        var stamp = supervisor.Time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var archive = Path.Combine(dir, RolledBackFolder, $"{stamp}-rollback-{Format(_rollbacks)}");
        var movedNames = _adapter.SetAside(keep, archive);
        _settledCheckpoints.ExceptWith(movedNames);
        var moved = movedNames.Count;

        AddSkip(skips, new TrainJobRange { From = from, To = to });
        // Into JOB.json at once: a host that dies before the next start still resumes skipping the bad batches.
        if (TrainJobs.TryRead(dir) is { } current)
        {
            TrainJobs.Write(dir, current with { ResumeFrom = target?.Folder, SkipBatches = [.. skips] });
        }

        _spikes!.RollBack(keep);
        var where = target is null ? "the start of the stage (no complete checkpoint before the spike)" : target.Folder;
        var aside = moved == 0 ? "no later checkpoints" : $"{Format(moved)} later checkpoint(s) moved out of the lineage to {archive}";
        await AlertAsync(TrainingAlertKinds.RolledBack, "warning", keep,
            $"rolled back to step {Format(keep)} ({where}) after the {spike.Reason}; skipping batches [{Format(from)}, {Format(to)}) (skip_batches); {aside} (rollback {Format(_rollbacks)} of {Format(_spec.MaxRollbacks)})");
    }

    /// <summary>
    /// The command's skip ranges plus those an earlier launch of this same job added (rollbacks are written into JOB.json):
    /// skip ranges are not part of the job's identity, so a resume keeps both its checkpoints and its skips.
    /// </summary>
    private static List<TrainJobRange> CarriedSkips(string dir, TrainJob job)
    {
        var skips = new List<TrainJobRange>();
        foreach (var range in job.SkipBatches)
        {
            AddSkip(skips, range);
        }

        if (TrainJobs.TryRead(dir) is { } previous && string.Equals(previous.JobHash, job.JobHash, StringComparison.Ordinal))
        {
            foreach (var range in previous.SkipBatches)
            {
                AddSkip(skips, range);
            }
        }

        return skips;
    }

    private static void AddSkip(List<TrainJobRange> skips, TrainJobRange range)
    {
        if (!skips.Contains(range))
        {
            skips.Add(range);
            skips.Sort(static (a, b) => a.From != b.From ? a.From.CompareTo(b.From) : a.To.CompareTo(b.To));
        }
    }

    private async Task FailAsync(string dir, string reason, int? exitCode, int restarts)
    {
        var tail = LogTail.Read(Path.Combine(dir, LogFile), Options.LogTailLines);
        var message = $"{reason}; last lines of trainer.log:\n{tail}";
        Log.Failed(Logger, RunId, Stage, message, null);
        await PublishAsync(new TrainingFailed { RunId = RunId, Stage = Stage, Attempt = Attempt, Reason = message, ExitCode = exitCode, Restarts = restarts });
    }

    private async Task AlertAsync(string kind, string severity, long? step, string message)
    {
        Log.Intervention(Logger, RunId, Stage, kind, message);
        await PublishAsync(new AlertRaised { RunId = RunId, Stage = Stage, Attempt = Attempt, Step = step, Severity = severity, Kind = kind, Message = message });
    }

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
