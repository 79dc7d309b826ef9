namespace Jiniac.Orchestrator.Integrations;

/// <summary>Bound from "Integrations": the host's event sinks and how deliveries are retried (docs/integrations.md).</summary>
public sealed class IntegrationsOptions
{
    public const string Section = "Integrations";

    public RabbitMqSinkOptions RabbitMq { get; set; } = new();

    public DaprSinkOptions Dapr { get; set; } = new();

    public DeliveryOptions Delivery { get; set; } = new();
}

public sealed class RabbitMqSinkOptions
{
    /// <summary>amqp://user:pass@host:port/vhost; unset = no RabbitMQ sink.</summary>
    public string? Url { get; set; }

    /// <summary>A durable topic exchange; routing key "RUN.EventType".</summary>
    public string Exchange { get; set; } = "jiniac.events";

    /// <summary>Event types to publish; empty = every event.</summary>
    public List<string> Events { get; set; } = [];
}

public sealed class DaprSinkOptions
{
    /// <summary>The Dapr pub/sub component's name; unset = no Dapr sink.</summary>
    public string? PubSub { get; set; }

    public string Topic { get; set; } = "jiniac.events";

    /// <summary>The sidecar's gRPC address; default Dapr's own DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT (127.0.0.1:50001).</summary>
    public string? GrpcEndpoint { get; set; }

    public List<string> Events { get; set; } = [];
}

public sealed class DeliveryOptions
{
    /// <summary>Attempts before an event is dead-lettered (webhooks may set their own).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The wait after the first failure; doubled after each further one, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one delivery (an HTTP POST, a publish with its confirm) may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many attempts each sink keeps in its delivery log, per run (and as many dead letters).</summary>
    public int LogSize { get; set; } = 200;

    /// <summary>
    /// At a graceful stop, how long to wait for sinks that are catching up (not those in back-off) to reach the end of
    /// their journals, so a one-shot `jiniac run` delivers its last events before it exits; what is left goes out at the next start.
    /// </summary>
    public TimeSpan DrainOnStop { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan BackoffAfter(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 30));
        var wait = TimeSpan.FromTicks((long)Math.Min(InitialBackoff.Ticks * factor, MaxBackoff.Ticks));
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }
}
