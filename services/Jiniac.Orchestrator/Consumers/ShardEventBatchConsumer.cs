using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;
using MassTransit;

namespace Jiniac.Orchestrator.Consumers;

/// <summary>
/// ShardIngested and ShardsTokenized, the events a stage gets once per shard (or per few shards), consumed in batches: each stage applies its
/// share with one append to its shard log, and each run's journal takes its share with one append. The messages are
/// acknowledged only when both are durable, so a crash redelivers the batch, which both recognise (the stage knows its
/// shards by key, the journal its records by message id). There is no record per shard besides: the stage's shard log
/// holds what is known of each shard, and a per-shard grain write (one fsync each) was most of a batch's cost.
/// </summary>
public sealed class ShardEventBatchConsumer(IGrainFactory grains) : IConsumer<Batch<ShardIngested>>, IConsumer<Batch<ShardsTokenized>>
{
    public async Task Consume(ConsumeContext<Batch<ShardIngested>> context)
    {
        var batch = context.Message;
        await Task.WhenAll(
            ByStage(batch, m => (m.RunId, m.Stage), (runId, stage, messages) => grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, stage)).OnShardsIngestedAsync(messages)),
            Journal(batch, m => m.RunId, m => m.Stage));
    }

    public async Task Consume(ConsumeContext<Batch<ShardsTokenized>> context)
    {
        var batch = context.Message;
        await Task.WhenAll(
            ByStage(batch, m => (m.RunId, m.Stage), (runId, stage, messages) => grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, stage)).OnShardsTokenizedAsync(messages)),
            Journal(batch, m => m.RunId, m => m.Stage));
    }

    private static Task ByStage<T>(Batch<T> batch, Func<T, (string RunId, string Stage)> key, Func<string, string, IReadOnlyList<T>, Task> apply)
        where T : class
    {
        var groups = new Dictionary<(string, string), List<T>>();
        foreach (var context in batch)
        {
            var k = key(context.Message);
            if (!groups.TryGetValue(k, out var list))
            {
                groups[k] = list = [];
            }

            list.Add(context.Message);
        }

        return Task.WhenAll(groups.Select(g => apply(g.Key.Item1, g.Key.Item2, g.Value)));
    }

    /// <summary>As <see cref="JournalRecorder"/> records each event, keyed by its message id.</summary>
    private Task Journal<T>(Batch<T> batch, Func<T, string> runId, Func<T, string?> stage)
        where T : class
    {
        var groups = new Dictionary<string, List<JournalAppend>>(StringComparer.Ordinal);
        foreach (var context in batch)
        {
            var run = runId(context.Message);
            if (!groups.TryGetValue(run, out var list))
            {
                groups[run] = list = [];
            }

            var key = (context.MessageId ?? NewId.NextGuid()).ToString("n");
            list.Add(new JournalAppend(key, typeof(T).Name, stage(context.Message), JsonSerializer.Serialize(context.Message, OrchestratorJson.Options)));
        }

        return Task.WhenAll(groups.Select(g => grains.GetGrain<IJournalGrain>(g.Key).AppendManyOnceAsync(g.Value)));
    }
}

/// <summary>
/// Up to <see cref="MessageLimit"/> shard events per batch, or what came within <see cref="TimeLimitMs"/> ms of the first:
/// under load batches fill at once; a lone event waits no longer than that.
/// </summary>
public sealed class ShardEventBatchConsumerDefinition : ConsumerDefinition<ShardEventBatchConsumer>
{
    public const int MessageLimit = 500;
    public const int TimeLimitMs = 20;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ShardEventBatchConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.Options<BatchOptions>(o => o.SetMessageLimit(MessageLimit).SetTimeLimit(TimeSpan.FromMilliseconds(TimeLimitMs)).SetConcurrencyLimit(2));
        // As the other orchestrator consumers in the distributed topology (FailoverRetryDefinition): a batch whose grain
        // calls meet a silo failover waits it out instead of going to the error queue. Harmless embedded, where no silo moves.
        consumerConfigurator.UseMessageRetry(FailoverRetry.Configure);
    }
}
