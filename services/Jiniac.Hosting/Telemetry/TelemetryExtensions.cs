using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Jiniac.Hosting.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry for a service: MassTransit's and the platform's spans (exported over OTLP when an endpoint is
    /// configured) and the platform's and MassTransit's metrics (Prometheus scrape text and/or OTLP).
    /// </summary>
    public static IHostApplicationBuilder AddJiniacTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section);
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (!options.TracingOn && !options.Metrics)
        {
            return builder;
        }

        var otlp = string.IsNullOrWhiteSpace(options.OtlpEndpoint) ? null : new Uri(options.OtlpEndpoint);
        var protocol = options.OtlpProtocol switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new InvalidOperationException(
                $"{TelemetryOptions.Section}:{nameof(TelemetryOptions.OtlpProtocol)}: '{other}' is not an OTLP protocol; give grpc or http/protobuf"),
        };
        void Otlp(OtlpExporterOptions o)
        {
            o.Endpoint = otlp!;
            o.Protocol = protocol;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName ?? builder.Environment.ApplicationName));
        if (options.TracingOn)
        {
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(JiniacTelemetry.SourceName, JiniacTelemetry.MassTransitName);
                if (otlp is not null)
                {
                    tracing.AddOtlpExporter(Otlp);
                }
            });
        }

        if (options.Metrics)
        {
            var jiniac = builder.Configuration.GetSection(JiniacOptions.Section).Get<JiniacOptions>() ?? new JiniacOptions();
            if (jiniac.Topology == Topology.Distributed && !string.IsNullOrWhiteSpace(jiniac.RabbitMq))
            {
                builder.Services.AddHostedService<QueueDepths>();
            }

            telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(JiniacTelemetry.MeterName, JiniacTelemetry.MassTransitName);
                if (!string.IsNullOrEmpty(options.PrometheusPath))
                {
                    metrics.AddPrometheusExporter();
                }

                if (!string.IsNullOrWhiteSpace(options.PrometheusListener))
                {
                    var listener = new Uri(options.PrometheusListener);
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.Host = listener.Host;
                        o.Port = listener.Port;
                        o.ScrapeEndpointPath = string.IsNullOrEmpty(options.PrometheusPath) ? "/metrics" : options.PrometheusPath;
                    });
                }

                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(Otlp);
                }
            });
        }

        return builder;
    }

    /// <summary>Maps the Prometheus scrape endpoint (Telemetry:PrometheusPath) on a host's web listener, when metrics are on.</summary>
    public static IEndpointConventionBuilder? MapJiniacMetrics(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value;
        return options.Metrics && !string.IsNullOrEmpty(options.PrometheusPath)
            ? endpoints.MapPrometheusScrapingEndpoint(options.PrometheusPath)
            : null;
    }
}
