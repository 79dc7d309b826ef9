using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Publisher.Hub;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Jiniac.Publisher;

/// <summary>Publishes the checkpoint as a hub commit through the Hub protocol; the same (run, stage, step) again makes no new commit.</summary>
public sealed class PublishModelConsumer(HubPublisher hub, ILogger<PublishModelConsumer> logger) : IConsumer<PublishModel>
{
    public async Task Consume(ConsumeContext<PublishModel> context)
    {
        var message = context.Message;
        PublishedRevision published;
        try
        {
            published = await hub.PublishAsync(message, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is PublishException or HubException or IOException or ArgumentException or JsonException or InvalidOperationException or UnauthorizedAccessException or FormatException)
        {
            Log.Failed(logger, message.RunId, message.Stage, message.Step, e.Message, e is PublishException or HubException ? null : e);
            await context.Publish(new PublishFailed { RunId = message.RunId, Stage = message.Stage, Step = message.Step, Reason = e.Message }, context.CancellationToken);
            return;
        }

        if (published.Created)
        {
            Log.Published(logger, message.RunId, message.Stage, message.Step, published.Repo, published.Revision);
        }
        else
        {
            Log.AlreadyPublished(logger, message.RunId, message.Stage, message.Step, published.Repo, published.Revision);
        }

        await context.Publish(new ModelPublished
        {
            RunId = message.RunId,
            Stage = message.Stage,
            Step = message.Step,
            Repo = published.Repo,
            Revision = published.Revision,
            Folder = published.Folder,
            Created = published.Created,
        }, context.CancellationToken);
    }
}
