using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Jiniac.Hosting.Telemetry;

/// <summary>
/// Distributed topology: how many messages wait in each of this service's queues, and how many consumers the
/// broker has on them, asked of RabbitMQ itself (a passive queue declare) every Telemetry:QueueDepthInterval.
/// MassTransit measures what is being handled; what waits only the broker knows.
/// </summary>
internal sealed partial class QueueDepths : BackgroundService
{
    private readonly JiniacBusRegistry _registry;
    private readonly string _broker;
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueDepths> _logger;
    private readonly ConcurrentDictionary<string, (uint Ready, uint Consumers)> _depths = new(StringComparer.Ordinal);

    public QueueDepths(JiniacBusRegistry registry, IOptions<JiniacOptions> jiniac, IOptions<TelemetryOptions> telemetry, IMeterFactory meters,
        TimeProvider time, ILogger<QueueDepths> logger)
    {
        _registry = registry;
        _broker = jiniac.Value.RabbitMq!;
        _period = telemetry.Value.QueueDepthInterval;
        _time = time;
        _logger = logger;
        var meter = meters.Create(JiniacTelemetry.MeterName);
        meter.CreateObservableGauge("jiniac.queue.depth", () => Observe(d => d.Ready), description: "Messages ready in the queue, waiting for a consumer (RabbitMQ's count).");
        meter.CreateObservableGauge("jiniac.queue.consumers", () => Observe(d => d.Consumers), description: "Consumers the broker has on the queue.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(_broker), ClientProvidedName = "jiniac-queue-depths" };
        using var timer = new PeriodicTimer(_period, _time);
        IConnection? connection = null;
        try
        {
            do
            {
                try
                {
                    connection ??= await factory.CreateConnectionAsync(stoppingToken);
                    foreach (var endpoint in _registry.Endpoints)
                    {
                        await ReadAsync(connection, endpoint.Queue, stoppingToken);
                    }
                }
                catch (Exception e) when (e is BrokerUnreachableException or AlreadyClosedException or IOException)
                {
                    LogBrokerUnreachable(_logger, e);
                    connection?.Dispose();
                    connection = null; // connect again at the next tick
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private async Task ReadAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        // A passive declare of a queue not there (yet) closes its channel: one channel per question.
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            var ok = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            _depths[queue] = (ok.MessageCount, ok.ConsumerCount);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            _depths.TryRemove(queue, out _);
        }
    }

    private IEnumerable<Measurement<long>> Observe(Func<(uint Ready, uint Consumers), uint> value)
    {
        foreach (var (queue, depth) in _depths)
        {
            yield return new Measurement<long>(value(depth), new TagList { { "queue", queue } });
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue depths: the broker is not reachable; trying again at the next tick")]
    private static partial void LogBrokerUnreachable(ILogger logger, Exception exception);
}
