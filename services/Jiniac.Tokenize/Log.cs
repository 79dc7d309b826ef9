using Microsoft.Extensions.Logging;

namespace Jiniac.Tokenize;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Run {RunId}: trained tokenizer {Hash} (vocab {VocabSize}, {Merges} merges) on {SampleBytes} bytes in {Seconds:F2}s")]
    public static partial void TokenizerTrained(ILogger logger, string runId, string hash, int vocabSize, int merges, long sampleBytes, double seconds);

    [LoggerMessage(2, LogLevel.Information, "Run {RunId}: registered tokenizer {Hash} from {Path} (vocab {VocabSize}, eod {EodTokenId})")]
    public static partial void TokenizerRegistered(ILogger logger, string runId, string hash, string path, int vocabSize, int eodTokenId);

    [LoggerMessage(3, LogLevel.Warning, "Run {RunId}: tokenizer failed: {Reason}")]
    public static partial void TokenizerFailed(ILogger logger, string runId, string reason);

    [LoggerMessage(4, LogLevel.Information, "Shard {ShardKey}: {Documents} documents, {Tokens} tokens at {Prefix} ({Reused})")]
    public static partial void ShardTokenized(ILogger logger, string shardKey, long documents, long tokens, string prefix, string reused);

    [LoggerMessage(5, LogLevel.Warning, "Shard {ShardKey}: tokenization failed: {Reason}")]
    public static partial void ShardFailed(ILogger logger, string shardKey, string reason);
}
