namespace Jiniac.Orchestrator.Integrations;

/// <summary>
/// One journal entry on its way to a sink. <see cref="EventId"/> ("RUN:CURSOR") is the same on every sink and every
/// retry, so a receiver de-duplicates on it; the body every sink sends is <see cref="Json"/>, the event itself.
/// </summary>
public sealed record SinkEvent(string RunId, long Cursor, string Type, string? Stage, DateTimeOffset Timestamp, string Json)
{
    public string EventId => Id(RunId, Cursor);

    public static string Id(string runId, long cursor) => $"{runId}:{cursor}";
}

/// <summary>Delivers one event; throws <see cref="SinkDeliveryException"/> (or any I/O error) when it was not accepted.</summary>
public interface IEventSink
{
    /// <returns>What the receiver answered (an HTTP status; 0 where there is none).</returns>
    Task<int> DeliverAsync(SinkEvent e, CancellationToken cancellationToken);
}

public sealed class SinkDeliveryException(string message, int statusCode = 0, Exception? inner = null) : Exception(message, inner)
{
    public int StatusCode { get; } = statusCode;
}
