namespace Jiniac.Contracts;

// Events are published facts. Workers report what they did; the orchestrator's grains decide what happens next.

public sealed record ShardIngested
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string Source { get; init; }
    public required int Attempt { get; init; }
    public required IngestedShard Shard { get; init; }
}

public sealed record SourceIngested
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string Source { get; init; }
    public required int Attempt { get; init; }
    public required IReadOnlyList<IngestedShard> Shards { get; init; }
    public required long RecordsIn { get; init; }
    public required long RecordsOut { get; init; }
    public required long Duplicates { get; init; }
    public required long Quarantined { get; init; }
    public required long BytesOut { get; init; }
    public required string ReportBlob { get; init; }

    /// <summary>
    /// Documents dropped as near duplicates (MinHash/LSH), apart from the exact <see cref="Duplicates"/>.
    /// Not required: added later, so a message from an older sender still reads (as 0).
    /// </summary>
    public long NearDuplicates { get; init; }
}

public sealed record RecordsQuarantined
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string Source { get; init; }
    public required int Attempt { get; init; }
    public required long Count { get; init; }
    public required string QuarantineBlob { get; init; }
    /// <summary>Count of quarantined records by reason.</summary>
    public required IReadOnlyDictionary<string, long> Reasons { get; init; }
}

public sealed record IngestFailed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string Source { get; init; }
    public required int Attempt { get; init; }
    public required string Reason { get; init; }
}

public sealed record TokenizerReady
{
    public required string RunId { get; init; }
    public required string TokenizerBlob { get; init; }
    /// <summary>SHA-256 of the tokenizer.json bytes: part of every tokenized shard's content address.</summary>
    public required string TokenizerHash { get; init; }
    public required int VocabSize { get; init; }
    public required int EodTokenId { get; init; }
}

public sealed record TokenizerFailed
{
    public required string RunId { get; init; }
    public required string Reason { get; init; }
}

/// <summary>
/// The shards of one <see cref="TokenizeShards"/> that were encoded (or found already encoded). A shard that could not be
/// is in a <see cref="ShardTokenizeFailed"/> of its own instead.
/// </summary>
public sealed record ShardsTokenized
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string TokenizerHash { get; init; }
    public required IReadOnlyList<TokenizedShard> Shards { get; init; }
}

public sealed record ShardTokenizeFailed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required string ShardKey { get; init; }
    public required string Reason { get; init; }
}

public sealed record TrainingStarted
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required string JobId { get; init; }
    public required string Backend { get; init; }
    public required long TotalSteps { get; init; }
    /// <summary>The checkpoint step this start resumed from, or null for a fresh start.</summary>
    public long? ResumedFromStep { get; init; }
    public required int Restart { get; init; }
}

public sealed record TrainingProgressed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required long Step { get; init; }
    public required long TotalSteps { get; init; }
    public required long Tokens { get; init; }
    public required double Loss { get; init; }
    public required double LearningRate { get; init; }
    public required double GradNorm { get; init; }
    public required double TokensPerSecond { get; init; }
}

public sealed record CheckpointSaved
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required long Step { get; init; }
    public required long Tokens { get; init; }
    public required double Loss { get; init; }
    public required string Folder { get; init; }
    /// <summary>The checkpoint's size on disk, all its files (0 from a launcher that did not say).</summary>
    public long Bytes { get; init; }
}

public sealed record TrainingCompleted
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required long FinalStep { get; init; }
    public required long Tokens { get; init; }
    public required double FinalLoss { get; init; }
    public required string CheckpointFolder { get; init; }
    /// <summary>
    /// Every complete checkpoint of the attempt still on disk, by step (empty from a launcher that did not say). Events
    /// overtake each other on a broker: a CheckpointSaved held up in a redelivery can arrive after this, and the stage
    /// registers from here what it has not heard of yet.
    /// </summary>
    public IReadOnlyList<TrainedCheckpoint> Checkpoints { get; init; } = [];

    /// <summary>By value, the list too (a record compares a list by reference): the same report twice is equal.</summary>
    public bool Equals(TrainingCompleted? other) =>
        other is not null && RunId == other.RunId && Stage == other.Stage && Attempt == other.Attempt && FinalStep == other.FinalStep
        && Tokens == other.Tokens && FinalLoss.Equals(other.FinalLoss) && CheckpointFolder == other.CheckpointFolder
        && Checkpoints.SequenceEqual(other.Checkpoints);

    public override int GetHashCode() => HashCode.Combine(RunId, Stage, Attempt, FinalStep, Tokens, FinalLoss, CheckpointFolder, Checkpoints.Count);
}

public sealed record TrainingFailed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required string Reason { get; init; }
    public int? ExitCode { get; init; }
    public required int Restarts { get; init; }
}

public sealed record AlertRaised
{
    public required string RunId { get; init; }
    public string? Stage { get; init; }
    public required string Severity { get; init; }
    public required string Kind { get; init; }
    public required string Message { get; init; }
    /// <summary>The stage attempt the alert is about, when it is about training.</summary>
    public int? Attempt { get; init; }
    /// <summary>The training step it concerns (where a spike or stall happened, the checkpoint rolled back to).</summary>
    public long? Step { get; init; }
}

public sealed record EvaluationCompleted
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required IReadOnlyList<DomainEvaluation> Results { get; init; }
    /// <summary>Every metric of the evaluation by name: perplexity/DOMAIN, bits_per_byte/DOMAIN, loss/DOMAIN, SUITE/TASK/METRIC.</summary>
    public IReadOnlyList<EvaluationMetric> Metrics { get; init; } = [];
    /// <summary>Generation samples of the suites that asked for them.</summary>
    public IReadOnlyList<GenerationSample> Generations { get; init; } = [];
}

public sealed record EvaluationFailed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string Reason { get; init; }
}

public sealed record ModelPublished
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string Repo { get; init; }
    public required string Revision { get; init; }
    public required string Folder { get; init; }
    /// <summary>False when this checkpoint had been published before and no new revision was made.</summary>
    public required bool Created { get; init; }
}

public sealed record PublishFailed
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string Reason { get; init; }
}

/// <summary>The <see cref="AlertRaised.Kind"/>s the train-launcher raises when it intervenes (docs/trainer-contract.md).</summary>
public static class TrainingAlertKinds
{
    public const string Restarted = "trainer-restarted";
    public const string Stalled = "trainer-stalled";
    public const string Killed = "trainer-killed";
    public const string LowThroughput = "low-throughput";
    public const string LossSpike = "loss-spike";
    /// <summary><see cref="AlertRaised.Step"/> is the checkpoint rolled back to: later checkpoints left the lineage.</summary>
    public const string RolledBack = "rolled-back";
    /// <summary>A planned exit (Megatron's exit 16, Slurm's time-limit warning) that saved progress: started again, not counted against max_restarts.</summary>
    public const string Requeued = "trainer-requeued";
}

/// <summary>What the train-launcher did with a <see cref="PruneCheckpoints"/>: deleted, and kept (with why).</summary>
public sealed record CheckpointsDeleted
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required IReadOnlyList<long> Steps { get; init; }
    public IReadOnlyList<string> Refused { get; init; } = [];
}

/// <summary>
/// A complete checkpoint's files are in the blob store under <see cref="Prefix"/> (training.retention.archive), with the
/// marker written last; <see cref="Skipped"/> files were there already (an archive that was interrupted and resumed).
/// </summary>
public sealed record CheckpointArchived
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string Prefix { get; init; }
    public required int Files { get; init; }
    public required long Bytes { get; init; }
    public int Skipped { get; init; }
}
