namespace Jiniac.Contracts;

/// <summary>
/// The type names a run's journal holds — the contract events of Events.cs and the orchestrator's own journal
/// entries — which is what event filters (webhooks, the watch stream, sinks) may name.
/// </summary>
public static class EventTypes
{
    /// <summary>Journal entries the orchestrator writes itself (not bus messages).</summary>
    public static readonly IReadOnlyList<string> Orchestrator =
    [
        "RunSubmitted", "RunStatusChanged", "StageStatusChanged", "StageReplayed", "StageGated", "GateApproved", "CheckpointsPruned",
    ];

    public static readonly IReadOnlyList<Type> Contract =
    [
        typeof(ShardIngested), typeof(SourceIngested), typeof(RecordsQuarantined), typeof(IngestFailed),
        typeof(TokenizerReady), typeof(TokenizerFailed), typeof(ShardsTokenized), typeof(ShardTokenizeFailed),
        typeof(TrainingStarted), typeof(TrainingProgressed), typeof(CheckpointSaved), typeof(TrainingCompleted),
        typeof(TrainingFailed), typeof(AlertRaised), typeof(EvaluationCompleted), typeof(EvaluationFailed),
        typeof(ModelPublished), typeof(PublishFailed), typeof(CheckpointsDeleted), typeof(CheckpointArchived),
    ];

    public static readonly IReadOnlySet<string> All = new HashSet<string>(Contract.Select(t => t.Name).Concat(Orchestrator), StringComparer.Ordinal);
}
