using Jiniac.Orchestrator.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Integrations;

public static class IntegrationsExtensions
{
    /// <summary>Event sinks (RabbitMQ, Dapr pub/sub, webhooks) that follow each run's journal, and the webhook API.</summary>
    public static IServiceCollection AddJiniacIntegrations(this IServiceCollection services)
    {
        services.AddOptions<IntegrationsOptions>().BindConfiguration(IntegrationsOptions.Section)
            .Validate(o => !SinkCatalog.Validate(o).Any(), "Integrations: an Events list names an unknown event type")
            .ValidateOnStart();
        services.AddSingleton<RabbitMqEventSink>();
        services.AddSingleton<DaprEventSink>();
        services.AddSingleton<SinkCatalog>();
        services.AddHttpClient(WebhookSink.HttpClientName, (sp, client) =>
        {
            // The grain's own deadline (Delivery:Timeout) decides; this only stops HttpClient's 100 s default cutting it shorter or longer.
            client.Timeout = Timeout.InfiniteTimeSpan;
        });
        services.AddHostedService<SinkCatchUp>();
        return services;
    }

    public static IEndpointRouteBuilder MapJiniacIntegrations(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<WebhookApiService>();
        return endpoints;
    }
}

/// <summary>
/// After a restart nothing appends to a finished run's journal, so nothing would wake its sinks: at start every known
/// run's sinks are told to catch up from their persisted cursors.
/// </summary>
internal sealed class SinkCatchUp(IGrainFactory grains, IHostApplicationLifetime lifetime, SinkCatalog catalog, IOptions<IntegrationsOptions> options, TimeProvider time) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _ = CatchUpAsync(lifetime.ApplicationStopping));
        return Task.CompletedTask;
    }

    private async Task CatchUpAsync(CancellationToken stopping)
    {
        try
        {
            foreach (var run in await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
            {
                stopping.ThrowIfCancellationRequested();
                await grains.GetGrain<IRunSinksGrain>(run).NotifyAsync();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or OrleansException)
        {
            // Stopping, or the silo is going down: the next start catches up instead.
        }
    }

    /// <summary>Registered after the silo, so this runs before the silo stops: waits (bounded) for sinks still catching up.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + options.Value.Delivery.DrainOnStop;
        try
        {
            foreach (var run in await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
            {
                var end = await grains.GetGrain<IJournalGrain>(run).CountAsync();
                foreach (var sink in await catalog.SinkIdsAsync(run))
                {
                    var grain = grains.GetGrain<IEventSinkGrain>(SinkKeys.Of(sink, run));
                    while (await grain.GetStatusAsync() is { Failures: 0 } status && status.Cursor < end && time.GetUtcNow() < until)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or OrleansException)
        {
            // The host's own stop deadline came first: the rest is delivered at the next start.
        }
    }
}
