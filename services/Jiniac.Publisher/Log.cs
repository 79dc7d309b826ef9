using Microsoft.Extensions.Logging;

namespace Jiniac.Publisher;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Published {RunId}/{Stage} step {Step} as {Repo} revision {Revision}")]
    public static partial void Published(ILogger logger, string runId, string stage, long step, string repo, string revision);

    [LoggerMessage(2, LogLevel.Information, "{RunId}/{Stage} step {Step} was already published as {Repo} revision {Revision}")]
    public static partial void AlreadyPublished(ILogger logger, string runId, string stage, long step, string repo, string revision);

    [LoggerMessage(3, LogLevel.Error, "Publishing {RunId}/{Stage} step {Step} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string runId, string stage, long step, string reason, Exception? exception);
}
