using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Jiniac.Hosting.Telemetry;

/// <summary>The platform's own activity source and meter, and how a trace is carried across a pause in state.</summary>
public static class JiniacTelemetry
{
    public const string SourceName = "Jiniac";

    public const string MeterName = "Jiniac";

    /// <summary>MassTransit's activity source and meter: it starts a span per send/publish/consume and carries the trace in message headers.</summary>
    public const string MassTransitName = "MassTransit";

    /// <summary>Spans the platform starts itself (a grain continuing a trace it stored).</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The W3C traceparent of the current span, to be stored with state a later message continues from; null when nothing traces.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>
    /// Starts a span whose parent is a stored traceparent, so the commands sent inside it (and everything their
    /// consumers publish) belong to that earlier trace. Null when no listener samples it or nothing was stored.
    /// </summary>
    public static Activity? Continue(string name, string? traceParent)
    {
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, out var parent))
        {
            return null;
        }

        return Source.StartActivity(name, ActivityKind.Internal, parent);
    }

    /// <summary>Stage names, run ids and such as metric tags.</summary>
    public static TagList Tags(string runId, string stage) => new() { { "run", runId }, { "stage", stage } };
}
