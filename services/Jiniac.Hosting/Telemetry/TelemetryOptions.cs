namespace Jiniac.Hosting.Telemetry;

/// <summary>Bound from "Telemetry": where traces and metrics go (docs/observability.md).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The service name on every span and metric (defaults to the host's application name).</summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// An OpenTelemetry collector (e.g. http://127.0.0.1:4317 for gRPC, http://127.0.0.1:4318 for HTTP): traces and
    /// metrics are exported there over OTLP. Unset: nothing is exported over the network.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>"grpc" (the default) or "http/protobuf", as the collector at <see cref="OtlpEndpoint"/> speaks.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>
    /// Record traces even without an OTLP endpoint (for an exporter added in code, as the tests do). A set
    /// <see cref="OtlpEndpoint"/> turns tracing on by itself.
    /// </summary>
    public bool Traces { get; set; }

    /// <summary>Off: no meter provider at all.</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>
    /// Where a host with a web listener serves the Prometheus text (the orchestrator: on its dashboard listener).
    /// Empty: no scrape endpoint.
    /// </summary>
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>
    /// A worker service without a web listener serves Prometheus on its own HTTP listener at this address
    /// (e.g. http://127.0.0.1:9464, scrape path <see cref="PrometheusPath"/>); unset: none.
    /// </summary>
    public string? PrometheusListener { get; set; }

    /// <summary>How often the orchestrator reads new journal entries into its metrics.</summary>
    public TimeSpan JournalPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Distributed topology: how often each service asks RabbitMQ how many messages wait in its queues.</summary>
    public TimeSpan QueueDepthInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal bool TracingOn => Traces || !string.IsNullOrWhiteSpace(OtlpEndpoint);
}
