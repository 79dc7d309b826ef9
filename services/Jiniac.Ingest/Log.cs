using Microsoft.Extensions.Logging;

namespace Jiniac.Ingest;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Ingesting source {Source}: {Files} files")]
    public static partial void IngestStarted(this ILogger logger, string source, int files);

    [LoggerMessage(2, LogLevel.Information, "Ingested source {Source}: {RecordsIn} records in, {RecordsOut} out ({Train} train, {Eval} eval), {Duplicates} duplicates, {Quarantined} quarantined, {Shards} shards, {BytesIn} bytes read in {Elapsed}")]
    public static partial void IngestFinished(this ILogger logger, string source, long recordsIn, long recordsOut, long train, long eval, long duplicates, long quarantined, int shards, long bytesIn, TimeSpan elapsed);

    [LoggerMessage(3, LogLevel.Warning, "Quarantined a record of {File} line {Line}: {Reason}")]
    public static partial void RecordQuarantined(this ILogger logger, string file, long line, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Stored shard {ShardKey} ({Split}, {Records} records, {Bytes} bytes)")]
    public static partial void ShardStored(this ILogger logger, string shardKey, string split, long records, long bytes);

    [LoggerMessage(5, LogLevel.Error, "Ingest of {Source} for run {RunId} stage {Stage} failed: {Reason}")]
    public static partial void IngestFailed(this ILogger logger, Exception? exception, string runId, string stage, string source, string reason);

    [LoggerMessage(6, LogLevel.Information, "IngestSource received: run {RunId} stage {Stage} source {Source} attempt {Attempt}")]
    public static partial void IngestRequested(this ILogger logger, string runId, string stage, string source, int attempt);
}
