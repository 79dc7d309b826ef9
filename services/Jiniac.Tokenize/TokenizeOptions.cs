using System.ComponentModel.DataAnnotations;

namespace Jiniac.Tokenize;

/// <summary>Bound from the "Tokenize" configuration section.</summary>
public sealed class TokenizeOptions
{
    public const string Section = "Tokenize";

    /// <summary>Threads that encode the documents of one shard (or one CLI run) in parallel.</summary>
    [Range(1, 1024)]
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>Commands this service handles at once (each shard already uses <see cref="Workers"/> threads).</summary>
    [Range(1, 64)]
    public int ConcurrentMessages { get; set; } = 2;

    /// <summary>Bytes of JSON lines read and encoded as one ordered batch.</summary>
    [Range(1 << 16, 1 << 30)]
    public int BatchBytes { get; set; } = 4 << 20;
}
