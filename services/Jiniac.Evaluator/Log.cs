using Microsoft.Extensions.Logging;

namespace Jiniac.Evaluator;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Evaluating {RunId}/{Stage} step {Step} ({Sets} domains)")]
    public static partial void Evaluating(ILogger logger, string runId, string stage, long step, int sets);

    [LoggerMessage(2, LogLevel.Information, "Evaluation of {RunId}/{Stage} step {Step} already done; results republished")]
    public static partial void AlreadyDone(ILogger logger, string runId, string stage, long step);

    [LoggerMessage(3, LogLevel.Information, "Evaluated {RunId}/{Stage} step {Step}")]
    public static partial void Evaluated(ILogger logger, string runId, string stage, long step);

    [LoggerMessage(4, LogLevel.Error, "Evaluation of {RunId}/{Stage} step {Step} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string runId, string stage, long step, string reason, Exception? exception);

    [LoggerMessage(5, LogLevel.Information, "Running the harness of suite {Suite} on {RunId}/{Stage} step {Step}")]
    public static partial void RunningHarness(ILogger logger, string runId, string stage, long step, string suite);
}
