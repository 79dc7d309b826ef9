using System.Text;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>
/// Publishes events to a Dapr pub/sub component through Dapr.Client (the sidecar's gRPC PublishEvent): the event's JSON
/// as the data, content type application/json, the event id as the CloudEvent id. Verified only against a test server
/// implementing that call (tests/Jiniac.Publisher.Tests/DaprSidecar.cs); no daprd exists here.
/// </summary>
public sealed class DaprEventSink(IOptions<IntegrationsOptions> options) : IEventSink, IDisposable
{
    private readonly Lazy<DaprClient> _client = new(() =>
    {
        var builder = new DaprClientBuilder();
        if (options.Value.Dapr.GrpcEndpoint is { Length: > 0 } endpoint)
        {
            builder.UseGrpcEndpoint(endpoint);
        }

        return builder.Build();
    });

    public async Task<int> DeliverAsync(SinkEvent e, CancellationToken cancellationToken)
    {
        var dapr = options.Value.Dapr;
        var pubsub = dapr.PubSub ?? throw new SinkDeliveryException("Integrations:Dapr:PubSub is not set");
        var metadata = new Dictionary<string, string>
        {
            ["cloudevent.id"] = e.EventId,
            ["cloudevent.type"] = e.Type,
            ["cloudevent.source"] = "jiniac",
            ["jiniac-event-id"] = e.EventId,
            ["jiniac-event-type"] = e.Type,
            ["jiniac-run"] = e.RunId,
            ["jiniac-cursor"] = e.Cursor.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        try
        {
            await _client.Value.PublishByteEventAsync(pubsub, dapr.Topic, Encoding.UTF8.GetBytes(e.Json), "application/json", metadata, cancellationToken);
            return 0;
        }
        catch (DaprException ex)
        {
            var inner = ex.InnerException is Grpc.Core.RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
            throw new SinkDeliveryException($"Dapr pub/sub '{pubsub}' topic '{dapr.Topic}': {inner}", 0, ex);
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
