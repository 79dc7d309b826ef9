using Microsoft.Extensions.Logging;

namespace Jiniac.Trainer.Evaluation;

// Kept apart from the trainer's Log class so the train and evaluate verbs can grow their messages independently.
internal static partial class EvaluationLog
{
    [LoggerMessage(101, LogLevel.Information, "Task {Task}: {Documents} documents, {Metrics}")]
    public static partial void TaskEvaluated(ILogger logger, string task, int documents, string metrics);

    [LoggerMessage(102, LogLevel.Information, "Generated a {Mode} sample of {Tokens} tokens, repetition rate {Rate:F3}")]
    public static partial void Generated(ILogger logger, string mode, int tokens, double rate);
}
