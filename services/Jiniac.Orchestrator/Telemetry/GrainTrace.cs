using Jiniac.Hosting.Telemetry;

namespace Jiniac.Orchestrator.Telemetry;

/// <summary>
/// Carries the caller's trace into grain calls. A grain runs outside the consumer's async flow, so the span of
/// the consume that called it is not Activity.Current there; the traceparent travels in Orleans' RequestContext
/// instead, and a grain stores it with what it will act on later (a checkpoint it evaluates and publishes).
/// </summary>
public static class GrainTrace
{
    public const string Key = "jiniac-traceparent";

    /// <summary>The traceparent of the call being handled (the consume span that made it), or null when nothing traces.</summary>
    public static string? Incoming() => RequestContext.Get(Key) as string;
}

/// <summary>Puts the current span's traceparent into every outgoing grain call's RequestContext.</summary>
internal sealed class GrainTraceFilter : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (JiniacTelemetry.CurrentTraceParent() is { } traceParent)
        {
            RequestContext.Set(GrainTrace.Key, traceParent);
        }

        return context.Invoke();
    }
}
