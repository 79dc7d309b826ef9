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

internal static partial class HubLog
{
    [LoggerMessage(10, LogLevel.Information, "Local hub serving {Root} at {Endpoint}")]
    public static partial void LocalHubStarted(ILogger logger, string root, Uri endpoint);

    [LoggerMessage(11, LogLevel.Information, "Committed {Repo} {Commit} on main ({Files} files, {Uploaded} LFS objects uploaded, {Deleted} removed)")]
    public static partial void Committed(ILogger logger, string repo, string commit, int files, int uploaded, int deleted);

    [LoggerMessage(12, LogLevel.Warning, "{Repo}: main moved while committing ({Reason}); trying again")]
    public static partial void MainMoved(ILogger logger, string repo, string reason);
}
