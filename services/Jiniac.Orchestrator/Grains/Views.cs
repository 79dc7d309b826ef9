using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Grains;

// What the control API and `jiniac status` show. Built by the grains from their own state.

public sealed record RunView
{
    public required string RunId { get; init; }
    public required string Name { get; init; }
    public required string Status { get; init; }
    public string? Reason { get; init; }
    public required string CurrentStage { get; init; }
    public required string PipelinePath { get; init; }
    public TokenizerInfo? Tokenizer { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset Updated { get; init; }
    public required IReadOnlyList<StageView> Stages { get; init; }
}

public sealed record StageView
{
    public required string Name { get; init; }
    public required int Index { get; init; }
    public required string Status { get; init; }
    public required int Attempt { get; init; }
    public string? Reason { get; init; }
    public required IReadOnlyList<DataPrefixView> Data { get; init; }
    public required long TokenBudget { get; init; }
    public required long TokensTrained { get; init; }
    public required long Step { get; init; }
    public required long TotalSteps { get; init; }
    public required double Loss { get; init; }
    public required double TokensPerSecond { get; init; }
    public required int ShardsTotal { get; init; }
    public required int ShardsTokenized { get; init; }
    public required int ShardsFailed { get; init; }
    public required long RecordsIn { get; init; }
    public required long RecordsOut { get; init; }
    public required long Duplicates { get; init; }
    public long NearDuplicates { get; init; }
    public required long Quarantined { get; init; }
    public required int SourcesDone { get; init; }
    public required int SourcesTotal { get; init; }
    public required IReadOnlyList<CheckpointSummary> Checkpoints { get; init; }
    public CheckpointSummary? Final { get; init; }
    public required IReadOnlyList<EvaluationView> Evaluations { get; init; }
    public required IReadOnlyList<PublishedSummary> Published { get; init; }
    public string? JobId { get; init; }
    public required int Restarts { get; init; }
    /// <summary>Steps retention deleted (they stay in <see cref="Checkpoints"/> as history).</summary>
    public IReadOnlyList<long> Pruned { get; init; } = [];
    /// <summary>Checkpoints replays took out of the lineage (kept on disk).</summary>
    public IReadOnlyList<DiscardedCheckpoint> Discarded { get; init; } = [];
    public IReadOnlyList<BatchRange> SkipBatches { get; init; } = [];
}

public sealed record DataPrefixView(string Prefix, double Weight, string Source, long Tokens);

public sealed record EvaluationView(long Step, IReadOnlyList<DomainEvaluation> Results)
{
    public IReadOnlyList<EvaluationMetric> Metrics { get; init; } = [];
    public IReadOnlyList<GenerationSample> Generations { get; init; } = [];
}

public sealed record JournalEntryView(long Sequence, DateTimeOffset Timestamp, string Type, string? Stage, string Json);
