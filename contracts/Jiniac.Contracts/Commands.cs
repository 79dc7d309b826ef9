using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts;

// Commands are sent to one service's queue. Each carries the ids its receiver de-duplicates on
// (run, stage, attempt, shard key, step); MessageId is never relied on.

/// <summary>Ingest one source of one stage: read, clean, de-duplicate, split and shard it.</summary>
public sealed record IngestSource
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required SourceSpec Source { get; init; }
    /// <summary>Blob key prefix under which this source's report and quarantine are written.</summary>
    public required string OutputPrefix { get; init; }
    /// <summary>
    /// The dedup indexes (<c>{outputPrefix}/dedup.bin</c>) of the stage's sources before this one, which are
    /// ingested first: what they kept is a duplicate here, so dedup covers the whole stage. Empty: none.
    /// </summary>
    public IReadOnlyList<string> PriorDedupIndexes { get; init; } = [];
}

/// <summary>Train a tokenizer on a sample of the given shards and store it as a HF tokenizer.json.</summary>
public sealed record TrainTokenizer
{
    public required string RunId { get; init; }
    public required IReadOnlyList<string> SampleBlobs { get; init; }
    public required TokenizerTrainingSpec Settings { get; init; }
}

/// <summary>Validate and register a given tokenizer.json for a run (copies it into blob storage).</summary>
public sealed record RegisterTokenizer
{
    public required string RunId { get; init; }
    public required string Path { get; init; }
}

/// <summary>
/// Encode one or more shards of a stage with the run's tokenizer, each into its own Megatron indexed dataset. The
/// orchestrator puts shards side by side in one command up to a byte budget (Orchestrator:TokenizeBatchBytes), so a stage of
/// many small shards costs the broker a message per budget, not per shard; a shard at or above the budget goes alone.
/// </summary>
public sealed record TokenizeShards
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required IReadOnlyList<ShardToTokenize> Shards { get; init; }
    public required string TokenizerBlob { get; init; }
    public required string TokenizerHash { get; init; }
    public bool AppendEod { get; init; } = true;
    /// <summary>Put the tokenizer's post-processor tokens (e.g. Llama's BOS) around each document; part of the output's content address.</summary>
    public bool AddSpecialTokens { get; init; }
}

/// <summary>Start (or resume) training one stage. The launcher resumes from its latest complete checkpoint for this stage, if any.</summary>
public sealed record LaunchTraining
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int StageIndex { get; init; }
    public required int Attempt { get; init; }
    /// <summary>The weighted blend: Megatron dataset prefixes (blob keys without .bin/.idx).</summary>
    public required IReadOnlyList<DataPrefix> Data { get; init; }
    public required string TokenizerBlob { get; init; }
    public required int VocabSize { get; init; }
    public required int EodTokenId { get; init; }
    public required ModelSpec Model { get; init; }
    public required TrainingSpec Training { get; init; }
    public required long TokenBudget { get; init; }
    /// <summary>Checkpoint folder whose weights initialise this stage (the previous stage's final one); null for the first stage.</summary>
    public string? InitFrom { get; init; }
    /// <summary>Batch ranges [from, to) to skip, e.g. past a loss spike.</summary>
    public IReadOnlyList<BatchRange> SkipBatches { get; init; } = [];
    /// <summary>Steps of the learning-rate schedule before this stage's first (lr_schedule: continue); 0 for a stage of its own.</summary>
    public long ScheduleOffsetSteps { get; init; }
    /// <summary>Steps the stage's learning-rate schedule spans; 0 = the stage's own steps.</summary>
    public long ScheduleTotalSteps { get; init; }
    /// <summary>
    /// An operator's replay from a chosen checkpoint (`jiniac replay --from-checkpoint`): resume from this step's checkpoint
    /// instead of the latest; the later ones leave the lineage (moved aside, kept on disk), once per attempt. Null: the latest.
    /// </summary>
    public long? ResumeFromStep { get; init; }
}

public sealed record StopTraining
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required string Reason { get; init; }
}

/// <summary>
/// Delete checkpoints of a stage that retention (training.retention) no longer keeps. By step: the launcher finds the
/// folders itself, and refuses the latest complete checkpoint and the one its trainer resumes from.
/// </summary>
public sealed record PruneCheckpoints
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required int Attempt { get; init; }
    public required IReadOnlyList<long> Steps { get; init; }
    /// <summary>training.retention.archive: a checkpoint whose archive to the blob store is not finished is refused.</summary>
    public bool Archive { get; init; }
}

/// <summary>Measure a checkpoint on held-out data, one result per domain.</summary>
public sealed record EvaluateCheckpoint
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string CheckpointFolder { get; init; }
    public required int ContextLength { get; init; }
    public required IReadOnlyList<EvalSet> Sets { get; init; }
    /// <summary>Cap on tokens scored per domain (0 = all).</summary>
    public long MaxTokensPerDomain { get; init; }
    /// <summary>The run's tokenizer.json (blob key): benchmark tasks and generation need it.</summary>
    public string? TokenizerBlob { get; init; }
    /// <summary>The suites whose checkpoint policy picked this checkpoint (perplexity on <see cref="Sets"/> always runs).</summary>
    public IReadOnlyList<Pipeline.EvaluationSuiteSpec> Suites { get; init; } = [];
}

/// <summary>Write a checkpoint as a Hugging Face model revision. Idempotent per (run, stage, step).</summary>
public sealed record PublishModel
{
    public required string RunId { get; init; }
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required string CheckpointFolder { get; init; }
    public required string TokenizerBlob { get; init; }
    public required PublishSpec Target { get; init; }
    /// <summary>The curriculum up to and including this stage, for the model card.</summary>
    public required IReadOnlyList<CurriculumEntry> Curriculum { get; init; }
    /// <summary>Evaluation results of this checkpoint, for the model card's table.</summary>
    public required IReadOnlyList<DomainEvaluation> Evaluation { get; init; }
    /// <summary>Every named metric of this checkpoint's evaluation (suites, harnesses), for the model card's model-index.</summary>
    public IReadOnlyList<EvaluationMetric> Metrics { get; init; } = [];
}
