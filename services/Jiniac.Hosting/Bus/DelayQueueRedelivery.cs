using System.Globalization;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;

namespace Jiniac.Hosting.Bus;

/// <summary>
/// Redelivery over longer spans on RabbitMQ without the delayed-message exchange plugin (not installed here):
/// a message that failed every in-process retry is parked in a durable queue of its endpoint whose per-queue TTL
/// dead-letters it, through the default exchange, straight back into the endpoint's own queue. One parking queue
/// per delay, so a short delay never waits behind a long one (RabbitMQ expires messages only at a queue's head).
/// Once every delay is spent, the message goes on down the error pipe: a Fault is published and it lands in
/// {queue}_error with MassTransit's fault headers, as before.
/// </summary>
public sealed class DelayQueueRedeliveryFilter(string queue, IReadOnlyList<TimeSpan> delays) : IFilter<ExceptionReceiveContext>
{
    /// <summary>How often the message has come back from a parking queue (a transport header, on RabbitMQ only).</summary>
    public const string CountHeader = "Jiniac-Redelivery-Count";

    /// <summary>The parking queue for one delay: {queue}_delay_{milliseconds}ms.</summary>
    public static string ParkingQueue(string queue, TimeSpan delay) =>
        string.Create(CultureInfo.InvariantCulture, $"{queue}_delay_{(long)delay.TotalMilliseconds}ms");

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        var count = RedeliveryCount(context);
        if (count >= delays.Count
            || !context.TryGetPayload<ChannelContext>(out var channel)
            || !context.TryGetPayload<RabbitMqBasicConsumeContext>(out var delivery))
        {
            await next.Send(context);
            return;
        }

        var delay = delays[count];
        var parking = ParkingQueue(queue, delay);
        var cancellationToken = context.CancellationToken;
        // Declared on use (idempotent with the same arguments); the name carries the delay, so a changed delay is a new queue, never a clash.
        await channel.QueueDeclare(parking, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object>
        {
            ["x-message-ttl"] = (long)delay.TotalMilliseconds,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = queue,
        }, cancellationToken);

        // The same body and properties (message id included, so consumers see the same message), marked with how often it has come back.
        var properties = new BasicProperties(delivery.Properties) { Persistent = true };
        var headers = properties.Headers is null ? new Dictionary<string, object?>() : new Dictionary<string, object?>(properties.Headers);
        headers[CountHeader] = count + 1;
        headers["Jiniac-Redelivery-Reason"] = Truncate(context.Exception.Message, 1000);
        properties.Headers = headers;
        // Awaiting the broker's confirm before the original is acknowledged: a crash in between redelivers twice, never zero times.
        await channel.BasicPublishAsync("", parking, mandatory: true, properties, context.Body.GetBytes(), awaitAck: true, cancellationToken);
    }

    public void Probe(ProbeContext context)
    {
        var scope = context.CreateFilterScope("delayQueueRedelivery");
        scope.Add("queue", queue);
        scope.Add("delays", string.Join(',', delays));
    }

    /// <summary>0 on the first delivery, n on the n-th redelivery from a parking queue.</summary>
    public static int RedeliveryCount(ReceiveContext context) =>
        context.TransportHeaders.TryGetHeader(CountHeader, out var value) && value is not null
            ? Convert.ToInt32(value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : value, CultureInfo.InvariantCulture)
            : 0;

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    /// <summary>Parses Jiniac:Redelivery ("00:00:30,00:05:00"; "" or "none": no redelivery).</summary>
    public static IReadOnlyList<TimeSpan> ParseDelays(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        var delays = new List<TimeSpan>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TimeSpan.TryParse(part, CultureInfo.InvariantCulture, out var delay) || delay <= TimeSpan.Zero)
            {
                throw new Microsoft.Extensions.Options.OptionsValidationException(JiniacOptions.Section, typeof(JiniacOptions),
                    [$"Jiniac:Redelivery: '{part}' is not a positive delay (hh:mm:ss, comma-separated, or 'none')"]);
            }

            delays.Add(delay);
        }

        return delays;
    }
}
