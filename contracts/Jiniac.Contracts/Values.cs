namespace Jiniac.Contracts;

/// <summary>One entry of a training blend: a Megatron dataset prefix (blob key, no extension) and its weight.</summary>
public sealed record DataPrefix
{
    public required string Prefix { get; init; }
    public required double Weight { get; init; }
}

/// <summary>A half-open range of global batch indices [From, To).</summary>
public sealed record BatchRange
{
    public required long From { get; init; }
    public required long To { get; init; }
}

public sealed record IngestedShard
{
    /// <summary>SHA-256 (hex) of the shard's bytes: the Shard grain's key.</summary>
    public required string ShardKey { get; init; }
    public required string Blob { get; init; }
    /// <summary>"train" or "eval" (the held-out split).</summary>
    public required string Split { get; init; }
    public required long Records { get; init; }
    /// <summary>UTF-8 bytes of the documents' text (bits per byte divides by this).</summary>
    public required long TextBytes { get; init; }
}

/// <summary>One shard of a <see cref="TokenizeShards"/>: its content key and the blob holding its JSON Lines.</summary>
public sealed record ShardToTokenize
{
    public required string ShardKey { get; init; }
    public required string ShardBlob { get; init; }
}

/// <summary>One shard of a <see cref="ShardsTokenized"/>.</summary>
public sealed record TokenizedShard
{
    public required string ShardKey { get; init; }
    /// <summary>Blob key prefix of the Megatron dataset (add .bin / .idx).</summary>
    public required string Prefix { get; init; }
    public required long Documents { get; init; }
    public required long Tokens { get; init; }
    /// <summary>True when the output already existed (content-addressed) and nothing was encoded.</summary>
    public bool Reused { get; init; }
}

/// <summary>Held-out data of one domain: tokenized prefixes and the UTF-8 byte count of their text.</summary>
public sealed record EvalSet
{
    public required string Domain { get; init; }
    public required IReadOnlyList<string> Prefixes { get; init; }
    public required long TextBytes { get; init; }
}

/// <summary>A complete checkpoint on disk, as a trainer's launcher lists them when training ends.</summary>
public sealed record TrainedCheckpoint
{
    public required long Step { get; init; }
    public required long Tokens { get; init; }
    public required double Loss { get; init; }
    public required string Folder { get; init; }
}

public sealed record DomainEvaluation
{
    public required string Domain { get; init; }
    public required long Tokens { get; init; }
    public required long TextBytes { get; init; }
    /// <summary>Mean negative log-likelihood per token, in nats.</summary>
    public required double Loss { get; init; }
    public required double Perplexity { get; init; }
    public required double BitsPerByte { get; init; }
}

public sealed record CurriculumEntry
{
    public required string Stage { get; init; }
    public required IReadOnlyList<string> Sources { get; init; }
    public required long Tokens { get; init; }
    public required long Steps { get; init; }
    public double? FinalLoss { get; init; }
    /// <summary>Data statistics of the stage for the model card (null = not known): records read, kept, dropped as duplicates, quarantined.</summary>
    public long? RecordsIn { get; init; }
    public long? RecordsOut { get; init; }
    public long? Duplicates { get; init; }
    public long? Quarantined { get; init; }
    /// <summary>Tokens in the stage's tokenized training data (the blend it sampled from).</summary>
    public long? DataTokens { get; init; }
}

public static class SplitNames
{
    public const string Train = "train";
    public const string Eval = "eval";
}

/// <summary>One named number of an evaluation (a gate refers to it by <see cref="Name"/>).</summary>
public sealed record EvaluationMetric
{
    public required string Name { get; init; }
    public required double Value { get; init; }
}

/// <summary>One generated continuation and how much it repeats itself.</summary>
public sealed record GenerationSample
{
    public required string Suite { get; init; }
    public required string Prompt { get; init; }
    /// <summary>greedy | sample</summary>
    public required string Mode { get; init; }
    public required string Text { get; init; }
    public required int Tokens { get; init; }
    /// <summary>Share of the continuation's token n-grams already seen earlier in it.</summary>
    public required double RepetitionRate { get; init; }
}
