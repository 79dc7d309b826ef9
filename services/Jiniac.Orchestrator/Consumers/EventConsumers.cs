using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;
using MassTransit;

namespace Jiniac.Orchestrator.Consumers;

/// <summary>Routes the workers' events to the grains that decide what happens next (ShardIngested and ShardsTokenized come in batches: <see cref="ShardEventBatchConsumer"/>).</summary>
public sealed class StageEventConsumer(IGrainFactory grains) :
    IConsumer<SourceIngested>,
    IConsumer<RecordsQuarantined>,
    IConsumer<IngestFailed>,
    IConsumer<ShardTokenizeFailed>,
    IConsumer<TrainingStarted>,
    IConsumer<TrainingProgressed>,
    IConsumer<CheckpointSaved>,
    IConsumer<TrainingCompleted>,
    IConsumer<TrainingFailed>,
    IConsumer<AlertRaised>,
    IConsumer<EvaluationCompleted>,
    IConsumer<EvaluationFailed>,
    IConsumer<ModelPublished>,
    IConsumer<PublishFailed>,
    IConsumer<TokenizerReady>,
    IConsumer<TokenizerFailed>
{
    private IStageGrain Stage(string runId, string stage) => grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, stage));

    public Task Consume(ConsumeContext<SourceIngested> context) => Stage(context.Message.RunId, context.Message.Stage).OnSourceIngestedAsync(context.Message);

    public Task Consume(ConsumeContext<RecordsQuarantined> context) => Stage(context.Message.RunId, context.Message.Stage).OnRecordsQuarantinedAsync(context.Message);

    public Task Consume(ConsumeContext<IngestFailed> context) => Stage(context.Message.RunId, context.Message.Stage).OnIngestFailedAsync(context.Message);

    public Task Consume(ConsumeContext<ShardTokenizeFailed> context) => Stage(context.Message.RunId, context.Message.Stage).OnShardTokenizeFailedAsync(context.Message);

    public Task Consume(ConsumeContext<TrainingStarted> context) => Stage(context.Message.RunId, context.Message.Stage).OnTrainingStartedAsync(context.Message);

    public Task Consume(ConsumeContext<TrainingProgressed> context) => Stage(context.Message.RunId, context.Message.Stage).OnTrainingProgressedAsync(context.Message);

    public async Task Consume(ConsumeContext<CheckpointSaved> context)
    {
        var m = context.Message;
        await grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(m.RunId, m.Stage, m.Step)).RecordSavedAsync(m);
        await Stage(m.RunId, m.Stage).OnCheckpointSavedAsync(m);
    }

    public Task Consume(ConsumeContext<TrainingCompleted> context) => Stage(context.Message.RunId, context.Message.Stage).OnTrainingCompletedAsync(context.Message);

    public Task Consume(ConsumeContext<TrainingFailed> context) => Stage(context.Message.RunId, context.Message.Stage).OnTrainingFailedAsync(context.Message);

    // Only a stage's own alerts concern a stage grain (the journal records every alert either way).
    public Task Consume(ConsumeContext<AlertRaised> context) =>
        context.Message.Stage is { } stage ? Stage(context.Message.RunId, stage).OnAlertRaisedAsync(context.Message) : Task.CompletedTask;

    public async Task Consume(ConsumeContext<EvaluationCompleted> context)
    {
        var m = context.Message;
        await grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(m.RunId, m.Stage, m.Step)).RecordEvaluationAsync(m);
        await Stage(m.RunId, m.Stage).OnEvaluationCompletedAsync(m);
    }

    public Task Consume(ConsumeContext<EvaluationFailed> context) => Stage(context.Message.RunId, context.Message.Stage).OnEvaluationFailedAsync(context.Message);

    public async Task Consume(ConsumeContext<ModelPublished> context)
    {
        var m = context.Message;
        await grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(m.RunId, m.Stage, m.Step)).RecordPublishedAsync(m);
        await Stage(m.RunId, m.Stage).OnModelPublishedAsync(m);
    }

    public Task Consume(ConsumeContext<PublishFailed> context) => Stage(context.Message.RunId, context.Message.Stage).OnPublishFailedAsync(context.Message);

    public Task Consume(ConsumeContext<TokenizerReady> context) => grains.GetGrain<IRunGrain>(context.Message.RunId).OnTokenizerReadyAsync(context.Message);

    public Task Consume(ConsumeContext<TokenizerFailed> context) => grains.GetGrain<IRunGrain>(context.Message.RunId).OnTokenizerFailedAsync(context.Message);
}

/// <summary>Appends every event of a run to its journal, the log that `jiniac events` and the watch stream read (shard events: <see cref="ShardEventBatchConsumer"/>).</summary>
public sealed class JournalRecorder(IGrainFactory grains) :
    IConsumer<SourceIngested>,
    IConsumer<RecordsQuarantined>,
    IConsumer<IngestFailed>,
    IConsumer<TokenizerReady>,
    IConsumer<TokenizerFailed>,
    IConsumer<ShardTokenizeFailed>,
    IConsumer<TrainingStarted>,
    IConsumer<TrainingProgressed>,
    IConsumer<CheckpointSaved>,
    IConsumer<TrainingCompleted>,
    IConsumer<TrainingFailed>,
    IConsumer<AlertRaised>,
    IConsumer<CheckpointsDeleted>,
    IConsumer<EvaluationCompleted>,
    IConsumer<EvaluationFailed>,
    IConsumer<ModelPublished>,
    IConsumer<PublishFailed>,
    IConsumer<CheckpointArchived>
{
    /// <summary>
    /// Keyed by the bus message id, the same on every redelivery of one message: an event consumed again after a crash
    /// between the append and the ack is journalled once.
    /// </summary>
    private Task Record<T>(ConsumeContext<T> context, string runId, string? stage, T message)
        where T : class
    {
        var messageId = context.MessageId;
        var json = JsonSerializer.Serialize(message, OrchestratorJson.Options);
        var journal = grains.GetGrain<IJournalGrain>(runId);
        return messageId is { } id ? journal.AppendOnceAsync(id.ToString("n"), typeof(T).Name, stage, json) : journal.AppendAsync(typeof(T).Name, stage, json);
    }

    public Task Consume(ConsumeContext<SourceIngested> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<RecordsQuarantined> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<IngestFailed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<TokenizerReady> c) => Record(c, c.Message.RunId, null, c.Message);
    public Task Consume(ConsumeContext<TokenizerFailed> c) => Record(c, c.Message.RunId, null, c.Message);
    public Task Consume(ConsumeContext<ShardTokenizeFailed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<TrainingStarted> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<TrainingProgressed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<CheckpointSaved> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<TrainingCompleted> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<TrainingFailed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<AlertRaised> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<CheckpointsDeleted> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<EvaluationCompleted> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<EvaluationFailed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<ModelPublished> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<PublishFailed> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
    public Task Consume(ConsumeContext<CheckpointArchived> c) => Record(c, c.Message.RunId, c.Message.Stage, c.Message);
}
