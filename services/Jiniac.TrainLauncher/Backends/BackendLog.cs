using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher.Backends;

internal static partial class BackendLog
{
    [LoggerMessage(101, LogLevel.Information, "Training {RunId}/{Stage} attempt {Attempt}: trainer {JobId} started (restart {Restart}, resume from {ResumeFrom})")]
    public static partial void TrainerStarted(ILogger logger, string runId, string stage, int attempt, string jobId, int restart, string? resumeFrom);

    [LoggerMessage(102, LogLevel.Information, "Training {RunId}/{Stage}: Slurm job {JobId} submitted ({Script})")]
    public static partial void Submitted(ILogger logger, string runId, string stage, string jobId, string script);

    [LoggerMessage(103, LogLevel.Information, "Slurm job {JobId} ended {State}, exit code {ExitCode}")]
    public static partial void JobEnded(ILogger logger, string jobId, string state, int exitCode);

    [LoggerMessage(104, LogLevel.Warning, "Slurm job {JobId} still running {Timeout} after SIGTERM; cancelling it")]
    public static partial void Killing(ILogger logger, string jobId, TimeSpan timeout);

    [LoggerMessage(105, LogLevel.Warning, "Could not cancel Slurm job {JobId}")]
    public static partial void CancelFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(107, LogLevel.Information, "Slurm job {JobId} of {Folder} outlived the previous host and still runs; following it again")]
    public static partial void Attached(ILogger logger, string jobId, string folder);

    [LoggerMessage(108, LogLevel.Information, "Training {RunId}/{Stage}: host shutdown; trainer {JobId} is left running and the next host follows it")]
    public static partial void Detached(ILogger logger, string runId, string stage, string jobId);

    [LoggerMessage(109, LogLevel.Warning, "squeue could not be asked about Slurm job {JobId} ({Error}); still following it")]
    public static partial void QueueUnreachable(ILogger logger, string jobId, string error);

    [LoggerMessage(106, LogLevel.Warning, "Training {RunId}/{Stage}: {What} left by an earlier host was still running; it was stopped first")]
    public static partial void OrphanEnded(ILogger logger, string runId, string stage, string what);
}
