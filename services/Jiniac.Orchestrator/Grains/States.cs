using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Orchestrator.Grains;

// Grain state is plain JSON on disk (FileGrainStorage) and crosses grain calls through Orleans' JSON codec:
// one serializer, readable files, and contracts free of Orleans attributes. Renaming a property breaks
// stored state: add, never rename.

public enum RunStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

public enum StageStatus
{
    Pending,
    Preparing,
    Ready,
    Training,
    Evaluating,
    Publishing,
    Completed,
    Failed,
    Cancelled,
    /// <summary>A gate failed on the final evaluation: held until an operator approves or replays (appended: stored values keep their numbers).</summary>
    Gated,
}

public static class StatusExtensions
{
    public static bool IsTerminal(this StageStatus status) =>
        status is StageStatus.Completed or StageStatus.Failed or StageStatus.Cancelled;

    /// <summary>Work is outstanding: something must be (re-)issued if it goes quiet.</summary>
    public static bool IsActive(this StageStatus status) =>
        status is StageStatus.Preparing or StageStatus.Training or StageStatus.Evaluating or StageStatus.Publishing;

    public static bool IsTerminal(this RunStatus status) =>
        status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled;
}

public sealed record TokenizerInfo
{
    public required string Blob { get; init; }
    public required string Hash { get; init; }
    public required int VocabSize { get; init; }
    public required int EodTokenId { get; init; }
}

/// <summary>What a stage needs from the pipeline to do its work; handed over once by the Run.</summary>
public sealed record StageContext
{
    public required string RunId { get; init; }
    public required int Index { get; init; }
    public required StageSpec Spec { get; init; }
    public required ModelSpec Model { get; init; }
    public required TrainingSpec Training { get; init; }
    public required EvaluationSpec Evaluation { get; init; }
    public PublishSpec? Publish { get; init; }
    public TokenizerInfo? Tokenizer { get; init; }
    /// <summary>The stage before this one (gates compare against its final evaluation); null for the first.</summary>
    public string? PreviousStage { get; init; }
    /// <summary>tokenizer.add_special_tokens, passed on in each TokenizeShards.</summary>
    public bool AddSpecialTokens { get; init; }
    /// <summary>Where the stage sits in its learning-rate schedule (lr_schedule); null = a schedule of its own.</summary>
    public LearningRateWindow? LearningRateWindow { get; init; }
}

public sealed record SubmitResult(string RunId, bool Created, string? Error);

public sealed record ReplayResult(int Attempt, string Status, string? Error);

/// <summary>An operator's replay of a stage: who asked and why (journaled), and optionally where training resumes.</summary>
public sealed record ReplayRequest
{
    public required string Reason { get; init; }
    /// <summary>The API key's name, or "local:USER" on a keyless loopback host.</summary>
    public required string RequestedBy { get; init; }
    /// <summary>Resume training from this checkpoint of the lineage; the later ones leave it (kept on disk). Null: the furthest valid point.</summary>
    public long? FromCheckpoint { get; init; }
    /// <summary>Batch ranges [from, to) to skip from now on (added to those the stage already skips).</summary>
    public IReadOnlyList<BatchRange> SkipBatches { get; init; } = [];

    public static ReplayRequest Because(string reason, string requestedBy = "local") => new() { Reason = reason, RequestedBy = requestedBy };
}

/// <summary>A checkpoint a replay took out of the stage's lineage; its files stay where the launcher moved them.</summary>
public sealed record DiscardedCheckpoint(long Step, long Tokens, double Loss, string Folder, int Attempt, string Reason);

public sealed class RunState
{
    public string RunId { get; set; } = "";
    public PipelineSpec? Spec { get; set; }
    public RunStatus Status { get; set; }
    public string? Reason { get; set; }
    public int CurrentStage { get; set; }
    public List<StageStatus> Stages { get; set; } = [];
    public TokenizerInfo? Tokenizer { get; set; }
    public bool TokenizerRequested { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset Updated { get; set; }
}

public sealed class SourceProgress
{
    public bool Done { get; set; }
    public long RecordsIn { get; set; }
    public long RecordsOut { get; set; }
    public long Duplicates { get; set; }
    public long NearDuplicates { get; set; }
    public long Quarantined { get; set; }
    public long BytesOut { get; set; }
    public string? ReportBlob { get; set; }
    public string? QuarantineBlob { get; set; }
    public Dictionary<string, long> QuarantineReasons { get; set; } = [];
}

public sealed class StageShard
{
    public required string Key { get; set; }
    public required string Source { get; set; }
    public required string Split { get; set; }
    public required string Blob { get; set; }
    public long Records { get; set; }
    public long TextBytes { get; set; }
    public string? Prefix { get; set; }
    public long Documents { get; set; }
    public long Tokens { get; set; }
    public string? Error { get; set; }
}

public sealed record CheckpointSummary(long Step, long Tokens, double Loss, string Folder);

public sealed record PublishedSummary(long Step, string Repo, string Revision, string Folder, bool Created);

public sealed record StageTransition(DateTimeOffset Time, StageStatus Status, int Attempt, string? Reason);

public sealed class StageState
{
    public StageContext? Context { get; set; }
    public StageStatus Status { get; set; }
    public string? Reason { get; set; }
    public int Attempt { get; set; } = 1;
    public Dictionary<string, SourceProgress> Sources { get; set; } = [];
    /// <summary>
    /// Only in states written before the shard log (<see cref="Journal.IShardLogStore"/>): moved there when the stage
    /// activates, and empty from then on. The shard table is no part of the state written whole.
    /// </summary>
    public Dictionary<string, StageShard> Shards { get; set; } = [];
    public string? InitFrom { get; set; }
    public string? JobId { get; set; }
    public long TotalSteps { get; set; }
    public long Step { get; set; }
    public long Tokens { get; set; }
    public double Loss { get; set; } = double.NaN;
    public double LearningRate { get; set; }
    public double TokensPerSecond { get; set; }
    public int Restarts { get; set; }
    public List<CheckpointSummary> Checkpoints { get; set; } = [];
    public CheckpointSummary? Final { get; set; }
    public Dictionary<long, List<DomainEvaluation>> Evaluations { get; set; } = [];
    /// <summary>Checkpoint steps whose evaluation is asked for and not yet answered.</summary>
    public SortedSet<long> PendingEvaluations { get; set; } = [];
    /// <summary>Pending evaluations whose command has gone out: sent again only by a resume, never by a poke.</summary>
    public SortedSet<long> SentEvaluations { get; set; } = [];
    /// <summary>Checkpoint steps retention gave up (deletion asked of the launcher); they stay in <see cref="Checkpoints"/> as history.</summary>
    public SortedSet<long> Pruned { get; set; } = [];
    public List<PublishedSummary> Published { get; set; } = [];
    /// <summary>Named metrics of each evaluated step (suites, harnesses, perplexity), as EvaluationCompleted reported them.</summary>
    public Dictionary<long, List<EvaluationMetric>> Metrics { get; set; } = [];
    public Dictionary<long, List<GenerationSample>> Generations { get; set; } = [];
    public List<StageTransition> History { get; set; } = [];
    public DateTimeOffset LastActivity { get; set; }
    /// <summary>Batch ranges every launch of this stage skips (replays with --skip-batches add to them).</summary>
    public List<BatchRange> SkipBatches { get; set; } = [];
    /// <summary>The current attempt resumes from this step (a replay --from-checkpoint); null: from the latest.</summary>
    public long? ResumeFromStep { get; set; }
    /// <summary>Checkpoints replays took out of the lineage, oldest first.</summary>
    public List<DiscardedCheckpoint> Discarded { get; set; } = [];
    /// <summary>W3C traceparent of the event that brought each checkpoint: its evaluation and publication continue that trace.</summary>
    public Dictionary<long, string> TraceParents { get; set; } = [];
}

public sealed class CheckpointState
{
    public string? RunId { get; set; }
    public string? Stage { get; set; }
    public long Step { get; set; }
    public long Tokens { get; set; }
    public double Loss { get; set; }
    public string? Folder { get; set; }
    /// <summary>Size on disk of all the checkpoint's files, as the launcher measured it when the checkpoint was complete.</summary>
    public long Bytes { get; set; }
    public List<DomainEvaluation>? Evaluation { get; set; }
    public ModelPublished? Published { get; set; }
}

public sealed class RegistryState
{
    public List<string> Runs { get; set; } = [];
}
