using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting;

public static class HostingExtensions
{
    /// <summary>Options, state paths, the blob store and the bus registry. Call first.</summary>
    public static IHostApplicationBuilder AddJiniacDefaults(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JiniacOptions>().BindConfiguration(JiniacOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StatePaths>();
        services.AddSingleton(TimeProvider.System);
        services.AddJiniacBlobStore();
        services.AddSingleton<ICommandSender, CommandSender>();
        BusRegistry(services);
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
                    ConfigureEndpoints(context, cfg, registry);
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg, registry));
            }
        });
        return builder;
    }

    private static void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator cfg, JiniacBusRegistry registry)
    {
        foreach (var endpoint in registry.Endpoints)
        {
            cfg.ReceiveEndpoint(endpoint.Queue, e =>
            {
                e.ConcurrentMessageLimit = endpoint.Concurrency;
                // Short in-process retries for transient faults; longer redelivery is the grains' re-issue timers.
                e.UseMessageRetry(r => r.Intervals(100, 500, 2000));
                foreach (var consumer in endpoint.Consumers)
                {
                    e.ConfigureConsumer(context, consumer);
                }
            });
        }
    }
}
