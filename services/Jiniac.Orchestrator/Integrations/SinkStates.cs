namespace Jiniac.Orchestrator.Integrations;

/// <summary>Where one sink stands on one run's journal: the next entry to deliver, the attempts on it, and what happened.</summary>
public sealed class EventSinkState
{
    /// <summary>The journal sequence of the next entry to deliver (or skip): everything before it is done.</summary>
    public long Cursor { get; set; }

    /// <summary>Failed attempts on the entry at <see cref="Cursor"/>.</summary>
    public int Failures { get; set; }

    public DateTimeOffset? NextAttempt { get; set; }

    /// <summary>The newest last: successes and failures, at most DeliveryOptions.LogSize.</summary>
    public List<DeliveryRecord> Log { get; set; } = [];

    public List<DeadLetterRecord> DeadLetters { get; set; } = [];

    /// <summary>Cursors of dead letters an operator re-sent, oldest first: delivered before the journal goes on.</summary>
    public List<long> Resend { get; set; } = [];

    /// <summary>Failed attempts on <c>Resend[0]</c> (counted apart from <see cref="Failures"/>, the journal entry's).</summary>
    public int ResendFailures { get; set; }
}

public sealed record DeliveryRecord
{
    public required string EventId { get; init; }
    public required long Cursor { get; init; }
    public required string Type { get; init; }
    public required int Attempt { get; init; }
    public required bool Ok { get; init; }
    public int StatusCode { get; init; }
    public string? Error { get; init; }
    public required DateTimeOffset At { get; init; }
}

public sealed record DeadLetterRecord
{
    public required string EventId { get; init; }
    public required long Cursor { get; init; }
    public required string Type { get; init; }
    public required int Attempts { get; init; }
    public required string LastError { get; init; }
    public required DateTimeOffset At { get; init; }
}

public sealed record SinkStatus(long Cursor, int Failures, DateTimeOffset? NextAttempt, IReadOnlyList<DeliveryRecord> Log, IReadOnlyList<DeadLetterRecord> DeadLetters);

/// <summary>A webhook subscription made through the API. The secret stays in grain state and is never returned.</summary>
public sealed record WebhookSubscription
{
    public required string Id { get; init; }
    public required string Url { get; init; }
    public IReadOnlyList<string> EventTypes { get; init; } = [];
    public required string Secret { get; init; }
    /// <summary>Only this run's events; null = every run.</summary>
    public string? RunId { get; init; }
    /// <summary>0 = the host's DeliveryOptions.MaxAttempts.</summary>
    public int MaxAttempts { get; init; }
    public required DateTimeOffset Created { get; init; }
    /// <summary>Skip journal entries older than <see cref="Created"/> (a subscriber that wants no history).</summary>
    public bool FromNow { get; init; }
}

public sealed class WebhookRegistryState
{
    public List<WebhookSubscription> Subscriptions { get; set; } = [];
}
