using System.Text;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>
/// Publishes events to a durable topic exchange (default <c>jiniac.events</c>) with routing key <c>RUN.EventType</c>, the
/// event's JSON as the body and its id, type, run, cursor and stage as headers (docs/integrations.md). A publish counts
/// as delivered only once the broker confirms it; a broken connection is dropped and made anew on the next attempt.
/// </summary>
public sealed class RabbitMqEventSink(IOptions<IntegrationsOptions> options) : IEventSink, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    private RabbitMqSinkOptions Options => options.Value.RabbitMq;

    public static string RoutingKey(string runId, string type) => $"{runId}.{type}";

    public async Task<int> DeliverAsync(SinkEvent e, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var channel = await ChannelAsync(cancellationToken);
            var properties = new BasicProperties
            {
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                DeliveryMode = DeliveryModes.Persistent,
                MessageId = e.EventId,
                Type = e.Type,
                Timestamp = new AmqpTimestamp(e.Timestamp.ToUnixTimeSeconds()),
                Headers = new Dictionary<string, object?>
                {
                    ["jiniac-event-id"] = e.EventId,
                    ["jiniac-event-type"] = e.Type,
                    ["jiniac-run"] = e.RunId,
                    ["jiniac-cursor"] = e.Cursor,
                    ["jiniac-stage"] = e.Stage ?? "",
                    ["jiniac-timestamp"] = e.Timestamp.UtcDateTime.ToString("O"),
                },
            };
            try
            {
                // With confirmation tracking on, this returns only once the broker has taken the message (and throws on a nack).
                await channel.BasicPublishAsync(Options.Exchange, RoutingKey(e.RunId, e.Type), mandatory: false, properties, Encoding.UTF8.GetBytes(e.Json), cancellationToken);
            }
            catch
            {
                await ResetAsync();
                throw;
            }

            return 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true })
        {
            return _channel;
        }

        await ResetAsync();
        var url = Options.Url ?? throw new SinkDeliveryException("Integrations:RabbitMq:Url is not set");
        try
        {
            var factory = new ConnectionFactory { Uri = new Uri(url), ClientProvidedName = "jiniac-events" };
            _connection = await factory.CreateConnectionAsync(cancellationToken);
            _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            await _channel.ExchangeDeclareAsync(Options.Exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            return _channel;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await ResetAsync();
            throw new SinkDeliveryException($"RabbitMQ at {Redacted(url)}: {ex.Message}", 0, ex);
        }
    }

    /// <summary>The broker's address without its password, for errors and logs.</summary>
    private static string Redacted(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}{uri.AbsolutePath}" : "(unparsable URL)";

    private async Task ResetAsync()
    {
        var (channel, connection) = (_channel, _connection);
        (_channel, _connection) = (null, null);
        try
        {
            if (channel is not null)
            {
                await channel.DisposeAsync();
            }

            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
        catch (Exception ex) when (ex is IOException or RabbitMQ.Client.Exceptions.RabbitMQClientException or ObjectDisposedException)
        {
            // Already broken: there is nothing left to close cleanly.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ResetAsync();
        _gate.Dispose();
    }
}
