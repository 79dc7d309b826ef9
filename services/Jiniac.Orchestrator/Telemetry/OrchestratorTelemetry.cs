using Jiniac.Hosting.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.Orchestrator.Telemetry;

public static class OrchestratorTelemetry
{
    /// <summary>The orchestrator's part of telemetry: traces carried into grain calls, and the journal-fed metrics.</summary>
    public static WebApplicationBuilder AddOrchestratorTelemetry(this WebApplicationBuilder builder)
    {
        // Orleans picks up every IOutgoingGrainCallFilter in the container (what ISiloBuilder.AddOutgoingGrainCallFilter registers).
        builder.Services.AddSingleton<IOutgoingGrainCallFilter, GrainTraceFilter>();
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.Metrics)
        {
            builder.Services.AddHostedService<JournalMetrics>();
        }

        return builder;
    }
}
