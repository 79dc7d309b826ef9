using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Training {RunId}/{Stage} attempt {Attempt}: trainer pid {Pid} started (restart {Restart}, resume from {ResumeFrom})")]
    public static partial void TrainerStarted(ILogger logger, string runId, string stage, int attempt, int pid, int restart, string? resumeFrom);

    [LoggerMessage(2, LogLevel.Information, "Training {RunId}/{Stage} attempt {Attempt} is already running; launch ignored")]
    public static partial void AlreadyRunning(ILogger logger, string runId, string stage, int attempt);

    [LoggerMessage(3, LogLevel.Information, "Training {RunId}/{Stage}: attempt {Attempt} is older than the running attempt {Running}; ignored")]
    public static partial void StaleAttempt(ILogger logger, string runId, string stage, int attempt, int running);

    [LoggerMessage(4, LogLevel.Information, "Training {RunId}/{Stage} already completed at step {Step}; TrainingCompleted republished")]
    public static partial void AlreadyCompleted(ILogger logger, string runId, string stage, long step);

    [LoggerMessage(5, LogLevel.Warning, "Training {RunId}/{Stage}: trainer exited with {ExitCode}; restart {Restart} of {MaxRestarts}")]
    public static partial void Restarting(ILogger logger, string runId, string stage, int exitCode, int restart, int maxRestarts);

    [LoggerMessage(6, LogLevel.Error, "Training {RunId}/{Stage} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string runId, string stage, string reason, Exception? exception);

    [LoggerMessage(7, LogLevel.Information, "Training {RunId}/{Stage} completed at step {Step}")]
    public static partial void Completed(ILogger logger, string runId, string stage, long step);

    [LoggerMessage(8, LogLevel.Information, "Training {RunId}/{Stage} stopped: {Reason}")]
    public static partial void Stopped(ILogger logger, string runId, string stage, string reason);

    [LoggerMessage(9, LogLevel.Warning, "Training {RunId}/{Stage}: a trainer (pid {Pid}) left by an earlier host was still running; it was stopped first")]
    public static partial void OrphanEnded(ILogger logger, string runId, string stage, int pid);

    [LoggerMessage(10, LogLevel.Warning, "Training {RunId}/{Stage}: the folder held another job ({OldHash}); its outputs moved to {Archive}")]
    public static partial void Superseded(ILogger logger, string runId, string stage, string oldHash, string archive);

    [LoggerMessage(11, LogLevel.Warning, "Could not publish {Event} for {RunId}/{Stage}")]
    public static partial void PublishFailed(ILogger logger, string @event, string runId, string stage, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "Trainers still running after {Timeout} at shutdown; the next launch stops them through their pid files")]
    public static partial void ShutdownTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(13, LogLevel.Information, "StopTraining {RunId}/{Stage} attempt {Attempt}: nothing running")]
    public static partial void NothingToStop(ILogger logger, string runId, string stage, int attempt);

    [LoggerMessage(14, LogLevel.Warning, "Training {RunId}/{Stage}: {Kind}: {Message}")]
    public static partial void Intervention(ILogger logger, string runId, string stage, string kind, string message);

    [LoggerMessage(15, LogLevel.Information, "Training {RunId}/{Stage}: retention deleted {Deleted} checkpoint(s), refused {Refused}")]
    public static partial void Pruned(ILogger logger, string runId, string stage, int deleted, int refused);

    [LoggerMessage(16, LogLevel.Information, "Training {RunId}/{Stage}: checkpoint {Step} archived to {Prefix} ({Files} files, {Skipped} already there)")]
    public static partial void Archived(ILogger logger, string runId, string stage, long step, string prefix, int files, int skipped);

    [LoggerMessage(17, LogLevel.Warning, "Training {RunId}/{Stage}: archiving checkpoint {Step} failed; it is kept and archived again later")]
    public static partial void ArchiveFailed(ILogger logger, string runId, string stage, long step, Exception exception);
}
