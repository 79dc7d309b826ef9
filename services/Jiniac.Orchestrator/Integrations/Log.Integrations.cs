using Microsoft.Extensions.Logging;

namespace Jiniac.Orchestrator;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Sink {Sink}: event {EventId} attempt {Attempt} failed, next in {Wait}: {Error}")]
    public static partial void SinkDeliveryFailed(ILogger logger, string sink, string eventId, int attempt, TimeSpan wait, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sink {Sink}: event {EventId} ({Type}) dead-lettered after {Attempts} attempts: {Error}")]
    public static partial void SinkDeadLettered(ILogger logger, string sink, string eventId, string type, int attempts, string error);
}
