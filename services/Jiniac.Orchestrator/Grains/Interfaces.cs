using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Orleans.Concurrency;

namespace Jiniac.Orchestrator.Grains;

// Call discipline, so that no cycle of grain calls can deadlock: a Run calls its Stages; a Stage tells
// its Run about changes only through [OneWay] calls; read-only methods are [AlwaysInterleave].

/// <summary>Key: run id. The pipeline spec, the current stage, the tokenizer, the run's status.</summary>
public interface IRunGrain : IGrainWithStringKey
{
    Task<SubmitResult> SubmitAsync(PipelineSpec spec);

    /// <summary>Re-issues every unfinished piece of work (after a restart, or when work went quiet).</summary>
    Task ResumeAsync();

    Task OnTokenizerReadyAsync(TokenizerReady message);

    Task OnTokenizerFailedAsync(TokenizerFailed message);

    [OneWay]
    Task OnStageChangedAsync(int index, StageStatus status);

    /// <summary>Every source of the stage is ingested (the first stage's shards are the tokenizer's sample).</summary>
    [OneWay]
    Task OnStageIngestedAsync(int index);

    Task<string> CancelAsync(string reason);

    Task<ReplayResult> ReplayStageAsync(string stage, ReplayRequest request);

    /// <summary>Tokenizes one shard of a stage again (`jiniac replay-shard`); a failed stage goes back to preparing.</summary>
    Task<ReplayResult> ReplayShardAsync(string stage, string shard, ReplayRequest request);

    /// <summary>Publishes a stage's final checkpoint, or the one at <paramref name="step"/>, on an operator's request.</summary>
    Task<ReplayResult> PublishAsync(string stage, long? step, string requestedBy);

    /// <summary>Releases a stage held by a failed gate: it is published and the run goes on.</summary>
    Task<ReplayResult> ApproveStageAsync(string stage, string reason);

    [AlwaysInterleave]
    Task<RunView?> GetViewAsync();

    /// <summary>Held-out sets of the stages ≤ index+1, or null while one of them is not prepared yet.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<EvalSet>?> GetEvalSetsAsync(int index);

    [AlwaysInterleave]
    Task<IReadOnlyList<CurriculumEntry>> GetCurriculumAsync(int index);

    /// <summary>The pipeline as submitted (null before), e.g. for its integrations.webhooks.</summary>
    [AlwaysInterleave]
    Task<PipelineSpec?> GetSpecAsync();
}

/// <summary>Key: "run/stage". The process manager of one stage.</summary>
public interface IStageGrain : IGrainWithStringKey
{
    Task PrepareAsync(StageContext context);

    Task SetTokenizerAsync(TokenizerInfo tokenizer);

    Task StartTrainingAsync(string? initFrom);

    /// <summary>Retries an evaluation that waited for the next stage's held-out data.</summary>
    Task PokeAsync();

    Task ResumeAsync();

    Task CancelAsync(string reason);

    Task<ReplayResult> ReplayAsync(ReplayRequest request);

    Task<ReplayResult> ReplayShardAsync(string shard, ReplayRequest request);

    Task<ReplayResult> PublishAsync(long? step, string requestedBy);

    /// <summary>Checkpoints replays took out of the lineage.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<DiscardedCheckpoint>> GetDiscardedAsync();

    Task<ReplayResult> ApproveAsync(string reason);

    /// <summary>Named metrics of the stage's final evaluation (empty before it), for the next stage's regression gates.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<EvaluationMetric>> GetFinalMetricsAsync();

    Task OnShardIngestedAsync(ShardIngested message);

    Task OnSourceIngestedAsync(SourceIngested message);

    Task OnRecordsQuarantinedAsync(RecordsQuarantined message);

    Task OnIngestFailedAsync(IngestFailed message);

    Task OnShardsTokenizedAsync(ShardsTokenized message);

    Task OnShardTokenizeFailedAsync(ShardTokenizeFailed message);

    /// <summary>Many ShardIngested at once (a consumed batch): each applied as one would be, the state written once.</summary>
    Task OnShardsIngestedAsync(IReadOnlyList<ShardIngested> messages);

    /// <summary>Many ShardsTokenized at once (a consumed batch): each applied as one would be, the log appended once.</summary>
    Task OnShardsTokenizedAsync(IReadOnlyList<ShardsTokenized> messages);

    Task OnTrainingStartedAsync(TrainingStarted message);

    Task OnTrainingProgressedAsync(TrainingProgressed message);

    Task OnCheckpointSavedAsync(CheckpointSaved message);

    Task OnTrainingCompletedAsync(TrainingCompleted message);

    Task OnTrainingFailedAsync(TrainingFailed message);

    /// <summary>An intervention of the train-launcher; a rollback takes later checkpoints out of the stage's lineage.</summary>
    Task OnAlertRaisedAsync(AlertRaised message);

    Task OnEvaluationCompletedAsync(EvaluationCompleted message);

    Task OnEvaluationFailedAsync(EvaluationFailed message);

    Task OnModelPublishedAsync(ModelPublished message);

    Task OnPublishFailedAsync(PublishFailed message);

    [AlwaysInterleave]
    Task<StageView> GetViewAsync();

    /// <summary>The stage's status alone (cheap: the Run's periodic check of what its [OneWay] notices may have missed).</summary>
    [AlwaysInterleave]
    Task<StageStatus> GetStatusAsync();

    /// <summary>This stage's held-out shards by domain, or null while they are not all tokenized.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<EvalSet>?> GetEvalSetsAsync();

    /// <summary>Blob keys of this stage's training shards (the tokenizer's sample).</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> GetTrainShardBlobsAsync();

    /// <summary>The stage's shard table (from its shard log), by key.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<StageShard>> GetShardsAsync();
}

/// <summary>Key: "run/stage/step". One checkpoint: where it is, what it scored, where it was published.</summary>
public interface ICheckpointGrain : IGrainWithStringKey
{
    Task RecordSavedAsync(CheckpointSaved message);

    Task RecordEvaluationAsync(EvaluationCompleted message);

    Task RecordPublishedAsync(ModelPublished message);

    [AlwaysInterleave]
    Task<CheckpointState> GetAsync();
}

/// <summary>Key: run id. The run's append-only event log; sequence numbers are the watch cursor.</summary>
public interface IJournalGrain : IGrainWithStringKey
{
    Task<long> AppendAsync(string type, string? stage, string json);

    /// <summary>Appends once per <paramref name="key"/>: a retry or a redelivered event with the same key returns the first sequence.</summary>
    Task<long> AppendOnceAsync(string key, string type, string? stage, string json);

    /// <summary>Appends each entry whose key is new to the log, all made durable together (a batch of events consumed at once).</summary>
    Task AppendManyOnceAsync(IReadOnlyList<JournalAppend> appends);

    [AlwaysInterleave]
    Task<IReadOnlyList<JournalEntryView>> ReadAsync(long from, int max);

    [AlwaysInterleave]
    Task<long> CountAsync();
}

/// <summary>Key: "all". The list of run ids.</summary>
public interface IRunRegistryGrain : IGrainWithStringKey
{
    Task AddAsync(string runId);

    [AlwaysInterleave]
    Task<IReadOnlyList<string>> ListAsync();
}

public static class GrainKeys
{
    public static string Stage(string runId, string stage) => $"{runId}/{stage}";

    public static string Checkpoint(string runId, string stage, long step) => $"{runId}/{stage}/{step}";

    public const string Registry = "all";
}

/// <summary>One entry of <see cref="IJournalGrain.AppendManyOnceAsync"/>: the key is the event's message id.</summary>
public sealed record JournalAppend(string Key, string Type, string? Stage, string Json);
