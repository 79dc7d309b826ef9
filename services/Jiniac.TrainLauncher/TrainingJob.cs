using Jiniac.Hosting;
using System.Globalization;
using Jiniac.Contracts;
using Jiniac.TrainLauncher.Backends;
using Jiniac.TrainLauncher.Supervision;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher;

/// <summary>
/// One stage's training on any backend (ITrainerBackend) with any trainer (ITrainerAdapter): start, follow, babysit
/// (TrainingJob.Supervision.cs), resume after crashes, requeue planned exits, report.
/// </summary>
internal sealed partial class TrainingJob(TrainingSupervisor supervisor, LaunchTraining command)
{
    public const string Backend = "local";
    public const string LogFile = "trainer.log";
    public const string MetricsFile = "metrics.jsonl";
    public const string PidFile = "trainer.pid";

    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(supervisor.ShutdownToken);
    private readonly HashSet<string> _settledCheckpoints = new(StringComparer.Ordinal);
    private Task _completion = Task.CompletedTask;
    private IMetricsSource? _follower;
    private ITrainerAdapter? _adapter;
    private ITrainerRun? _process;
    private string? _stopReason;
    private bool _shutdown;

    private MetricsLine? _latest;
    private long _lastPublishedStep = -1;
    private DateTimeOffset _lastProgressAt = DateTimeOffset.MinValue;

    public string RunId => command.RunId;
    public string Stage => command.Stage;
    public int Attempt => command.Attempt;
    public Task Completion => _completion;

    private TrainLauncherOptions Options => supervisor.Options;
    private ILogger Logger => supervisor.Logger;

    public void Start(Task previous) => _completion = Task.Run(() => RunAsync(previous));

    public void RequestStop(string reason, bool shutdown)
    {
        lock (_lock)
        {
            _stopReason ??= reason;
            _shutdown |= shutdown;
            // A scheduler's job outlives the host: at shutdown it is left running, and the next host attaches to it.
            if (!(shutdown && _process is { Detachable: true }))
            {
                _process?.Terminate();
            }
        }

        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job has just finished.
        }
    }

    private async Task RunAsync(Task previous)
    {
        try
        {
            await previous;
            await TrainAsync();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            await StoppedAsync();
        }
        catch (Exception e)
        {
            Log.Failed(Logger, RunId, Stage, e.Message, e);
            await PublishAsync(new TrainingFailed { RunId = RunId, Stage = Stage, Attempt = Attempt, Reason = e.Message, Restarts = 0 });
        }
        finally
        {
            supervisor.Forget(this);
            _stop.Dispose();
        }
    }

    private async Task TrainAsync()
    {
        var token = _stop.Token;
        var dir = supervisor.Paths.TrainDir(RunId, Stage);
        Directory.CreateDirectory(dir);
        var job = await TrainJobs.RenderAsync(command, dir, supervisor.Blobs, token, Options.Faults);
        var hash = job.JobHash!;
        var adapter = _adapter = TrainerAdapters.For(command, dir, job, Options);
        var totalSteps = adapter.TotalSteps;

        var backend = TrainerBackends.For(command.Training.Backend, Options, supervisor.Paths.Root, supervisor.Time, Logger);
        var attached = TrainJobs.TryRead(dir)?.JobHash == hash ? await backend.TryAttachAsync(dir, token) : null;
        if (attached is null && await backend.EndOrphanAsync(dir, token) is { } orphan)
        {
            BackendLog.OrphanEnded(Logger, RunId, Stage, orphan);
        }

        var skips = CarriedSkips(dir, job);
        SupersedeOtherJob(dir, hash);
        ApplyResumeFromStep(dir, adapter);

        // The lines earlier starts wrote are read first, not reported: a Megatron checkpoint's loss is only in its log,
        // and a report of a finished stage below without them carried NaN, which the bus cannot serialize.
        _follower = adapter.Metrics;
        _follower.SkipExisting();

        // A stage that already finished (its TrainingCompleted may have been lost) is reported, not retrained.
        if (adapter.TryReadDone() is { } finished)
        {
            Log.AlreadyCompleted(Logger, RunId, Stage, finished.Checkpoint.Step);
            // A trainer whose launcher was killed runs on to the end unwatched: its checkpoints were never reported.
            // Report every one (the stage ignores steps it has), or they would never be registered (chaos test).
            await PublishNewCheckpointsAsync();
            await PublishCompletedAsync(finished.Done, finished.Checkpoint);
            return;
        }

        var supervision = command.Training.Supervision;
        var policy = new RestartPolicy(supervision, command.Training.MaxRestarts);
        for (var restart = 0; ; restart++)
        {
            token.ThrowIfCancellationRequested();
            var completeCheckpoints = adapter.Complete();
            var resume = completeCheckpoints.Count > 0 ? completeCheckpoints[^1] : null;
            TrainJobs.Write(dir, job with { ResumeFrom = resume?.Folder, SkipBatches = skips });
            File.Delete(Path.Combine(dir, Checkpoints.DoneFile));

            lock (_lock)
            {
                if (_stopReason is not null)
                {
                    attached?.Terminate();
                    break;
                }
            }

            // Not cancellable: a submission cut short could leave a job nobody follows; a stop that came meanwhile is passed on below.
            var (program, arguments) = adapter.Command(skips);
            var process = attached ?? await backend.StartAsync(
                new TrainerLaunch
                {
                    Program = program,
                    Arguments = arguments,
                    WorkingDirectory = dir,
                    LogFile = Path.Combine(dir, LogFile),
                    Environment = Options.Environment,
                    Command = command,
                    Restart = restart,
                },
                CancellationToken.None);
            var isAttached = attached is not null;
            attached = null;
            lock (_lock)
            {
                _process = process;
                if (_stopReason is not null)
                {
                    process.Terminate();
                }
            }

            int exitCode;
            TrainerExit exit;
            using (process)
            {
                StartWatching(supervision, resume?.Step ?? 0);
                BackendLog.TrainerStarted(Logger, RunId, Stage, Attempt, process.JobId, restart, resume?.Folder);
                await PublishAsync(new TrainingStarted
                {
                    RunId = RunId,
                    Stage = Stage,
                    Attempt = Attempt,
                    JobId = process.JobId,
                    Backend = backend.Name,
                    TotalSteps = totalSteps,
                    ResumedFromStep = isAttached ? null : resume?.Step,
                    Restart = restart,
                });

                // Follow until exit. Stop requests only signal the trainer; it is still followed until it has saved.
                var exited = process.WaitForExitAsync(CancellationToken.None);
                while (!exited.IsCompleted)
                {
                    await Task.WhenAny(exited, Task.Delay(Options.PollInterval, supervisor.Time, CancellationToken.None));
                    await PollAsync(totalSteps);
                    if (_shutdown && process.Detachable)
                    {
                        BackendLog.Detached(Logger, RunId, Stage, process.JobId);
                        return;
                    }

                    await SuperviseAsync(process, exited);
                }

                exit = await exited;
                exitCode = exit.ExitCode;
                lock (_lock)
                {
                    _process = null;
                }

                await PollAsync(totalSteps);
            }

            // An intervention is a stop the launcher asked for, as much as an operator's: Megatron's exit then is no requeue.
            var verdict = adapter.Judge(exitCode, _stopReason is not null || _intervention is not null);
            if (_intervention is null && exitCode == 0 && adapter.TryReadDone() is { } done)
            {
                await PublishProgressAsync(totalSteps, force: true);
                Log.Completed(Logger, RunId, Stage, done.Checkpoint.Step);
                await PublishCompletedAsync(done.Done, done.Checkpoint);
                return;
            }

            if (_stopReason is not null)
            {
                break;
            }

            // What the launcher decided while following the trainer (a spike, a stall) outranks how it exited.
            var intervention = _intervention;
            _intervention = null;
            string reason;
            switch (intervention?.Action)
            {
                case InterventionAction.Fail:
                    await FailAsync(dir, intervention.Message, exitCode, policy.Restarts);
                    return;
                case InterventionAction.RollBack:
                    await RollBackAsync(dir, intervention.Spike!, skips);
                    continue;
                case InterventionAction.Restart:
                    reason = intervention.Message;
                    break;
                default:
                    // The trainer's own word first: Megatron's exit 17 (a result failed validation) is fatal whatever the log says.
                    if (verdict.Fatal is { } fatal)
                    {
                        await FailAsync(dir, $"{fatal}; not restarted", exitCode, policy.Restarts);
                        return;
                    }

                    // A planned exit (Megatron's exit 16, exit duration or interval, Slurm's time-limit warning) is started again
                    // at once without counting as a crash, as long as it got somewhere: one that saved nothing new is classified
                    // and counted like a crash below, so none loops forever.
                    var planned = verdict.Requeue || exit.Requeue;
                    if (planned && adapter.Complete() is [.., var latest] && latest.Step > (resume?.Step ?? -1))
                    {
                        await AlertAsync(TrainingAlertKinds.Requeued, "info", latest.Step, verdict.Reason ?? exit.Reason ?? "requeued");
                        continue;
                    }

                    var crashStep = _latestThisStart ?? resume?.Step ?? 0;
                    var classification = ExitClassifier.Classify(exitCode, LogTail.Read(Path.Combine(dir, LogFile), Options.LogTailLines),
                        crashStep, policy.RecordCrash(crashStep), supervision.SameStepCrashes);
                    // What the backend or adapter knows (a node failure, Megatron's reading of its exit) goes beside the classification.
                    var known = exit.Reason ?? verdict.Reason;
                    reason = known is null ? $"the trainer exited: {classification.Reason}" : $"the trainer exited: {known} ({classification.Reason})";
                    if (planned)
                    {
                        reason += ", without saving a new checkpoint";
                    }

                    if (classification.Verdict == ExitVerdict.Fatal)
                    {
                        await FailAsync(dir, $"{reason}; not restarted", exitCode, policy.Restarts);
                        return;
                    }

                    break;
            }

            if (policy.Exhausted)
            {
                await FailAsync(dir, $"{reason} after {policy.Restarts.ToString(CultureInfo.InvariantCulture)} restarts (max_restarts)", exitCode, policy.Restarts);
                return;
            }

            var backoff = policy.NextRestart();
            Log.Restarting(Logger, RunId, Stage, exitCode, policy.Restarts, policy.MaxRestarts);
            await AlertAsync(TrainingAlertKinds.Restarted, "warning", _latestThisStart ?? resume?.Step,
                $"{reason}; resuming from the latest complete checkpoint in {backoff.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (restart {policy.Restarts.ToString(CultureInfo.InvariantCulture)} of {policy.MaxRestarts.ToString(CultureInfo.InvariantCulture)})");
            await Task.Delay(backoff, supervisor.Time, token);
        }

        await StoppedAsync();
    }

    /// <summary>
    /// Outputs of a different job (changed settings, data or init) must neither be resumed from nor
    /// collide with the new job's checkpoint names: they are moved aside, kept for inspection.
    /// </summary>
    private void SupersedeOtherJob(string dir, string hash)
    {
        var previous = TrainJobs.TryRead(dir);
        if (previous?.JobHash is not { Length: > 0 } old || string.Equals(old, hash, StringComparison.Ordinal))
        {
            return;
        }

        var stamp = supervisor.Time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var archive = Path.Combine(dir, "superseded", $"{stamp}-{old[..Math.Min(12, old.Length)]}");
        Directory.CreateDirectory(archive);
        foreach (var name in (string[])[Checkpoints.Folder, MetricsFile, Checkpoints.DoneFile, LogFile, TrainJobs.FileName])
        {
            var source = Path.Combine(dir, name);
            if (Directory.Exists(source))
            {
                Directory.Move(source, Path.Combine(archive, name));
            }
            else if (File.Exists(source))
            {
                File.Move(source, Path.Combine(archive, name));
            }
        }

        Log.Superseded(Logger, RunId, Stage, old, archive);
    }

    private async Task PollAsync(long totalSteps)
    {
        var lines = _follower!.ReadNew();
        // Progress reports the latest finite numbers; a non-finite line is the spike detector's business.
        _latest = lines.FindLast(static l => l.Loss is { } loss && double.IsFinite(loss) && l.GradNorm is { } norm && double.IsFinite(norm)) ?? _latest;

        await ObserveAsync(lines);

        await PublishProgressAsync(totalSteps, force: false);

        await PublishNewCheckpointsAsync();
    }

    private async Task PublishNewCheckpointsAsync()
    {
        var fresh = _adapter!.NewCheckpoints(_settledCheckpoints);
        foreach (var checkpoint in fresh)
        {
            await PublishAsync(new CheckpointSaved
            {
                RunId = RunId,
                Stage = Stage,
                Attempt = Attempt,
                Step = checkpoint.Step,
                Tokens = checkpoint.Tokens,
                Loss = checkpoint.Loss,
                Folder = checkpoint.Folder,
                Bytes = SizeOf(checkpoint.Folder),
            });
            QueueArchive(checkpoint);
        }
    }

    /// <summary>All files of a complete checkpoint folder (0 if it went away meanwhile, e.g. set aside by a rollback).</summary>
    private static long SizeOf(string folder)
    {
        try
        {
            return new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }
    }

    private async Task PublishProgressAsync(long totalSteps, bool force)
    {
        if (_latest is not { } latest || latest.Step == _lastPublishedStep)
        {
            return;
        }

        var now = supervisor.Time.GetUtcNow();
        if (!force && now - _lastProgressAt < Options.ProgressInterval)
        {
            return;
        }

        _lastProgressAt = now;
        _lastPublishedStep = latest.Step;
        await PublishAsync(new TrainingProgressed
        {
            RunId = RunId,
            Stage = Stage,
            Attempt = Attempt,
            Step = latest.Step,
            TotalSteps = totalSteps,
            Tokens = latest.Tokens,
            Loss = latest.Loss!.Value,
            LearningRate = latest.Lr,
            GradNorm = latest.GradNorm!.Value,
            TokensPerSecond = latest.TokensPerSecond,
        });
    }

    private async Task PublishCompletedAsync(DoneFile done, CheckpointInfo checkpoint)
    {
        await ArchiveRemainingAsync();
        await PublishAsync(new TrainingCompleted
        {
            RunId = RunId,
            Stage = Stage,
            Attempt = Attempt,
            FinalStep = done.Step,
            Tokens = done.Tokens,
            FinalLoss = done.Loss,
            CheckpointFolder = checkpoint.Folder,
            Checkpoints = [.. _adapter!.Complete().Select(c => new TrainedCheckpoint { Step = c.Step, Tokens = c.Tokens, Loss = c.Loss, Folder = c.Folder })],
        });
    }

    private async Task StoppedAsync()
    {
        var reason = _stopReason ?? "stopped";
        Log.Stopped(Logger, RunId, Stage, reason);
        if (!_shutdown)
        {
            await PublishAsync(new AlertRaised { RunId = RunId, Stage = Stage, Severity = "info", Kind = "training-stopped", Message = reason });
        }
    }

    private async Task PublishAsync<T>(T message) where T : class
    {
        if (_shutdown)
        {
            // The bus stops before this service at host shutdown; the grains re-issue whatever was left.
            return;
        }

        try
        {
            await supervisor.Bus.Publish(message, CancellationToken.None);
        }
        catch (Exception e)
        {
            Log.PublishFailed(Logger, typeof(T).Name, RunId, Stage, e);
        }
    }
}
