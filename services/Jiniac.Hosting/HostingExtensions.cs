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
                    bus.AddConsumer(consumer);
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
                    ConfigureEndpoints(context, cfg, registry, options,
                        (e, limit) => ((IRabbitMqReceiveEndpointConfigurator)e).PrefetchCount = limit);
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg, registry, options, (_, _) => { }));
            }
        });
        return builder;
    }

    private static void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator cfg, JiniacBusRegistry registry,
        JiniacOptions options, Action<IReceiveEndpointConfigurator, int> transportLimit)
    {
        foreach (var endpoint in registry.Endpoints)
        {
            var limit = ConcurrencyOf(endpoint, options);
            cfg.ReceiveEndpoint(endpoint.Queue, e =>
            {
                e.ConcurrentMessageLimit = limit;
                // The broker hands out no more than the endpoint runs at once, so the rest waits in the queue for other instances.
                transportLimit(e, limit);
                // Short in-process retries for transient faults; longer redelivery is the grains' re-issue timers.
                e.UseMessageRetry(r => r.Intervals(100, 500, 2000));
                foreach (var consumer in endpoint.Consumers)
                {
                    e.ConfigureConsumer(context, consumer);
                }
            });
        }
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
