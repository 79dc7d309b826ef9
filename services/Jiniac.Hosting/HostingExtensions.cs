using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using Jiniac.Hosting.Telemetry;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting;

public static class HostingExtensions
{
    /// <summary>Options, state paths, the blob store, the bus registry and telemetry. Call first.</summary>
    public static IHostApplicationBuilder AddJiniacDefaults(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JiniacOptions>().BindConfiguration(JiniacOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StatePaths>();
        services.AddSingleton(TimeProvider.System);
        services.AddJiniacBlobStore();
        services.AddSingleton<ICommandSender, CommandSender>();
        BusRegistry(services);
        builder.AddJiniacTelemetry();
        return builder;
    }

    /// <summary>The registry services add their endpoints to (created on first use).</summary>
    public static JiniacBusRegistry BusRegistry(this IServiceCollection services)
    {
        var descriptor = services.FirstOrDefault(d => d.ServiceType == typeof(JiniacBusRegistry));
        if (descriptor?.ImplementationInstance is JiniacBusRegistry existing)
        {
            return existing;
        }

        var registry = new JiniacBusRegistry();
        services.AddSingleton(registry);
        return registry;
    }

    /// <summary>Configures MassTransit with every endpoint the services registered. Call after the AddXxxService() calls.</summary>
    public static IHostApplicationBuilder AddJiniacBus(this IHostApplicationBuilder builder)
    {
        var registry = builder.Services.BusRegistry();
        var options = builder.Configuration.GetSection(JiniacOptions.Section).Get<JiniacOptions>() ?? new JiniacOptions();
        if (options.Topology == Topology.Distributed)
        {
            // The host is started only once the broker connection is up and every endpoint's queue is bound to its
            // message exchanges: an event published earlier would reach no subscriber's queue and be dropped.
            builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        }

        builder.Services.AddMassTransit(bus =>
        {
            foreach (var endpoint in registry.Endpoints)
            {
                foreach (var consumer in endpoint.Consumers)
                {
                    // A consumer's ConsumerDefinition (batch options, say) lives beside it; MassTransit finds it only when told.
                    bus.AddConsumer(consumer, DefinitionOf(consumer));
                }
            }

            if (options.Topology == Topology.Distributed)
            {
                if (string.IsNullOrWhiteSpace(options.RabbitMq))
                {
                    throw new OptionsValidationException(JiniacOptions.Section, typeof(JiniacOptions),
                        ["Jiniac:RabbitMq: a connection string is required in the distributed topology"]);
                }

                bus.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(new Uri(options.RabbitMq));
                    // Queues and exchanges are durable (MassTransit's default on RabbitMQ): commands outlive a broker restart.
                    var redelivery = DelayQueueRedeliveryFilter.ParseDelays(options.Redelivery);
                    ConfigureEndpoints(context, cfg, registry, options, (e, queue, limit) =>
                    {
                        ((IRabbitMqReceiveEndpointConfigurator)e).PrefetchCount = limit;
                        if (redelivery.Count > 0)
                        {
                            // The error pipe runs once the in-process retries are spent: park for a later redelivery first,
                            // and only when those are spent too, MassTransit's own fault and move to {queue}_error.
                            e.ConfigureError(error =>
                            {
                                error.UseFilter(new DelayQueueRedeliveryFilter(queue, redelivery));
                                error.UseFilter(new MassTransit.Middleware.GenerateFaultFilter());
                                error.UseFilter(new MassTransit.Middleware.ErrorTransportFilter());
                            });
                        }
                    });
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg, registry, options, (_, _, _) => { }));
            }
        });
        return builder;
    }

    private static void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator cfg, JiniacBusRegistry registry,
        JiniacOptions options, Action<IReceiveEndpointConfigurator, string, int> transportSettings)
    {
        foreach (var endpoint in registry.Endpoints)
        {
            var limit = ConcurrencyOf(endpoint, options);
            cfg.ReceiveEndpoint(endpoint.Queue, e =>
            {
                e.ConcurrentMessageLimit = limit;
                // The broker hands out no more than the endpoint runs at once, so the rest waits in the queue for other instances.
                transportSettings(e, endpoint.Queue, limit);
                // Short in-process retries for transient faults; longer spans: Jiniac:Redelivery (RabbitMQ) and the grains' re-issue timers.
                e.UseMessageRetry(r => r.Intervals(100, 500, 2000));
                foreach (var consumer in endpoint.Consumers)
                {
                    e.ConfigureConsumer(context, consumer);
                }
            });
        }
    }

    private static Type? DefinitionOf(Type consumer)
    {
        var definition = typeof(IConsumerDefinition<>).MakeGenericType(consumer);
        return consumer.Assembly.GetTypes().FirstOrDefault(t => t.IsClass && !t.IsAbstract && definition.IsAssignableFrom(t));
    }

    private static int ConcurrencyOf(EndpointRegistration endpoint, JiniacOptions options)
    {
        if (!options.Concurrency.TryGetValue(endpoint.Queue, out var limit))
        {
            return endpoint.Concurrency;
        }

        if (limit < 1)
        {
            throw new OptionsValidationException(JiniacOptions.Section, typeof(JiniacOptions),
                [$"Jiniac:Concurrency:{endpoint.Queue}: {limit} is not a limit; give 1 or more messages at once"]);
        }

        return limit;
    }
}
