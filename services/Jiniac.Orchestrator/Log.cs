using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.Logging;

namespace Jiniac.Orchestrator;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Stage {Stage}: {From} -> {To} {Reason}")]
    public static partial void StageTransition(ILogger logger, string stage, StageStatus from, StageStatus to, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stage {Stage}: re-issuing outstanding work ({Status})")]
    public static partial void StageResume(ILogger logger, string stage, StageStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: {Status} {Reason}")]
    public static partial void RunStatusChanged(ILogger logger, string runId, RunStatus status, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: training a tokenizer on {Shards} shard(s) of stage {Stage}")]
    public static partial void TrainingTokenizer(ILogger logger, string runId, int shards, string stage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} stage {Stage}: checkpoint(s) {Steps} registered from TrainingCompleted, their CheckpointSaved not yet in")]
    public static partial void CheckpointsRegisteredAtCompletion(ILogger logger, string runId, string stage, string steps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: stage {Index} is {Actual}, not {Known} as last heard (a notice was lost); taken in")]
    public static partial void StageStatusReconciled(ILogger logger, string runId, int index, StageStatus known, StageStatus actual);

    [LoggerMessage(Level = LogLevel.Information, Message = "Control API listening on {Address}")]
    public static partial void ControlListening(ILogger logger, string address);
}
