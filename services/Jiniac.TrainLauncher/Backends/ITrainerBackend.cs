using Jiniac.Contracts;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>One start of a trainer: what to run, where, and for which stage.</summary>
internal sealed record TrainerLaunch
{
    /// <summary>The trainer, as TrainLauncherOptions.Trainer names it (a .dll runs with dotnet).</summary>
    public required string Program { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    /// <summary>The stage's output folder: the trainer's working directory, on a filesystem the launcher sees too.</summary>
    public required string WorkingDirectory { get; init; }
    /// <summary>Standard output and error of the trainer are appended here.</summary>
    public required string LogFile { get; init; }
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    public required LaunchTraining Command { get; init; }
    /// <summary>Restarts of this attempt before this start (0 for the first).</summary>
    public required int Restart { get; init; }
}

/// <summary>How a trainer run ended: its exit code, and what the backend knows beyond it (a node failure, a time limit).</summary>
internal sealed record TrainerExit(int ExitCode, string? Reason)
{
    /// <summary>A planned end (the trainer saved on the scheduler's warning): start again from its checkpoint, not counted as a crash.</summary>
    public bool Requeue { get; init; }
}

/// <summary>
/// How a trainer is started, followed and stopped: a local child process, a Slurm job, … The launcher's
/// follow-up (metrics, checkpoints, resumes) works on the stage folder alone, which every backend shares.
/// </summary>
internal interface ITrainerBackend
{
    /// <summary>"local", "slurm": the TrainingStarted.Backend value.</summary>
    string Name { get; }

    /// <summary>
    /// A trainer an earlier launcher host left running for this folder (a crash, kill -9) would write beside a new
    /// one: it is asked to save and exit, then killed after the stop timeout. Returns what was ended, or null.
    /// </summary>
    Task<string?> EndOrphanAsync(string workingDirectory, CancellationToken cancellationToken);

    Task<ITrainerRun> StartAsync(TrainerLaunch launch, CancellationToken cancellationToken);

    /// <summary>
    /// A trainer of this very job that outlived the previous launcher host and is still running (a scheduler job),
    /// to be followed again instead of stopped and restarted; null when there is none or the backend cannot.
    /// </summary>
    Task<ITrainerRun?> TryAttachAsync(string workingDirectory, CancellationToken cancellationToken);
}

/// <summary>One running trainer.</summary>
internal interface ITrainerRun : IDisposable
{
    /// <summary>"local:PID", "slurm:JOBID": the TrainingStarted.JobId value.</summary>
    string JobId { get; }

    /// <summary>Completes when the trainer has ended, however it ended; never throws for a failed trainer.</summary>
    Task<TrainerExit> WaitForExitAsync(CancellationToken cancellationToken);

    /// <summary>Asks the trainer to save and exit (SIGTERM); it is killed if it has not ended after the stop timeout. Returns at once.</summary>
    void Terminate();

    /// <summary>Ends the trainer now, without a checkpoint.</summary>
    void ForceKill();

    /// <summary>
    /// Whether the trainer runs on without the launcher (a Slurm job does; a child process does not). Such a trainer is
    /// left running when the launcher's host shuts down, and the next host attaches to it.
    /// </summary>
    bool Detachable { get; }

    /// <summary>
    /// Whether the trainer is still waiting for a scheduler to place it (Slurm PENDING): it has not started, so the
    /// launcher's stall clock (startup_grace_seconds) does not run yet.
    /// </summary>
    bool Queued { get; }
}
