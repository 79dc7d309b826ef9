using Microsoft.Extensions.Logging;

namespace Jiniac.Trainer;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Training {Parameters:N0} parameters for {TotalSteps} steps ({Tokens:N0} tokens), starting after step {StartStep}; {Threads} threads")]
    public static partial void TrainingStarted(ILogger logger, long parameters, long totalSteps, long tokens, long startStep, int threads);

    [LoggerMessage(2, LogLevel.Information, "Initialised weights from {Folder}")]
    public static partial void InitialisedFrom(ILogger logger, string folder);

    [LoggerMessage(3, LogLevel.Information, "Resumed from {Folder} at step {Step}")]
    public static partial void ResumedFrom(ILogger logger, string folder, long step);

    [LoggerMessage(4, LogLevel.Warning, "Checkpoint {Folder} was written by another job (hash {Found}, this job {Expected}); resuming anyway")]
    public static partial void JobHashMismatch(ILogger logger, string folder, string found, string expected);

    [LoggerMessage(5, LogLevel.Information, "Step {Step}: batch skipped as asked (skip_batches)")]
    public static partial void BatchSkipped(ILogger logger, long step);

    [LoggerMessage(6, LogLevel.Information, "Step {Step}: loss {Loss:F4}, lr {Lr:E3}, grad norm {GradNorm:F3}, {TokensPerSecond:F0} tokens/s")]
    public static partial void StepLogged(ILogger logger, long step, float loss, double lr, double gradNorm, double tokensPerSecond);

    [LoggerMessage(7, LogLevel.Information, "Checkpoint saved: {Folder}")]
    public static partial void CheckpointSaved(ILogger logger, string folder);

    [LoggerMessage(8, LogLevel.Warning, "{Signal} received: finishing step {Step}, saving a checkpoint and exiting with 75")]
    public static partial void StopRequested(ILogger logger, string signal, long step);

    [LoggerMessage(9, LogLevel.Information, "Training complete at step {Step}, loss {Loss:F4}")]
    public static partial void TrainingCompleted(ILogger logger, long step, float loss);

    [LoggerMessage(10, LogLevel.Information, "Evaluated {Domain}: {Tokens} tokens, loss {Loss:F4}, perplexity {Perplexity:F3}, bits/byte {BitsPerByte}")]
    public static partial void DomainEvaluated(ILogger logger, string domain, long tokens, double loss, double perplexity, double? bitsPerByte);

    [LoggerMessage(11, LogLevel.Error, "Invalid job: {Reason}")]
    public static partial void InvalidJob(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Critical, "The trainer failed")]
    public static partial void Failed(ILogger logger, Exception exception);

    [LoggerMessage(13, LogLevel.Information, "Budget already trained (step {Step} of {TotalSteps}); writing DONE.json")]
    public static partial void AlreadyDone(ILogger logger, long step, long totalSteps);

    [LoggerMessage(14, LogLevel.Warning, "Fault injection: {Kind} at step {Step}")]
    public static partial void FaultInjected(ILogger logger, string kind, long step);
}
