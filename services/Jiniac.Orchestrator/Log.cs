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

    [LoggerMessage(Level = LogLevel.Information, Message = "Control API listening on {Address}")]
    public static partial void ControlListening(ILogger logger, string address);
}
