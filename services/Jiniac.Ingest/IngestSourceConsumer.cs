using Jiniac.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Jiniac.Ingest;

/// <summary>
/// Runs <see cref="SourceIngestor"/> for an <see cref="IngestSource"/> command and reports the facts:
/// <see cref="ShardIngested"/> per shard as it is stored, <see cref="RecordsQuarantined"/> when records
/// were quarantined, then <see cref="SourceIngested"/>; or <see cref="IngestFailed"/>.
/// </summary>
/// <remarks>
/// Every failure other than cancellation becomes <see cref="IngestFailed"/> rather than a retried
/// fault: the Stage grain decides whether to try again (with a new attempt), and a bad spec or an
/// unreadable source would fail the same way on every retry. Redelivery of the same command repeats
/// the same events with the same keys, which receivers de-duplicate.
/// </remarks>
public sealed class IngestSourceConsumer(SourceIngestor ingestor, ILogger<IngestSourceConsumer> logger) : IConsumer<IngestSource>
{
    public async Task Consume(ConsumeContext<IngestSource> context)
    {
        var command = context.Message;
        var cancellationToken = context.CancellationToken;
        logger.IngestRequested(command.RunId, command.Stage, command.Source.Name, command.Attempt);

        IngestResult result;
        try
        {
            result = await ingestor.IngestAsync(
                command.Source,
                command.OutputPrefix,
                command.PriorDedupIndexes,
                shard => context.Publish(new ShardIngested
                {
                    RunId = command.RunId,
                    Stage = command.Stage,
                    Source = command.Source.Name,
                    Attempt = command.Attempt,
                    Shard = shard,
                }, cancellationToken),
                cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = e is SourceUnreadableException or ArgumentException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            logger.IngestFailed(e is SourceUnreadableException ? null : e, command.RunId, command.Stage, command.Source.Name, reason);
            await context.Publish(new IngestFailed
            {
                RunId = command.RunId,
                Stage = command.Stage,
                Source = command.Source.Name,
                Attempt = command.Attempt,
                Reason = reason,
            }, cancellationToken);
            return;
        }

        if (result.Quarantined > 0)
        {
            await context.Publish(new RecordsQuarantined
            {
                RunId = command.RunId,
                Stage = command.Stage,
                Source = command.Source.Name,
                Attempt = command.Attempt,
                Count = result.Quarantined,
                QuarantineBlob = result.QuarantineBlob!,
                Reasons = result.QuarantineReasons,
            }, cancellationToken);
        }

        await context.Publish(new SourceIngested
        {
            RunId = command.RunId,
            Stage = command.Stage,
            Source = command.Source.Name,
            Attempt = command.Attempt,
            Shards = result.Shards,
            RecordsIn = result.RecordsIn,
            RecordsOut = result.RecordsOut,
            Duplicates = result.Duplicates,
            NearDuplicates = result.NearDuplicates,
            Quarantined = result.Quarantined,
            BytesOut = result.BytesOut,
            ReportBlob = result.ReportBlob,
        }, cancellationToken);
    }
}
