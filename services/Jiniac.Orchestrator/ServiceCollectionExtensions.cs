using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Consumers;
using Jiniac.Orchestrator.Control;
using Jiniac.Orchestrator.Integrations;
using Jiniac.Orchestrator.Dashboard;
using Jiniac.Orchestrator.Telemetry;
using Jiniac.Orchestrator.Journal;
using Jiniac.Orchestrator.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using RedisOptions = StackExchange.Redis.ConfigurationOptions;
using Orleans.Serialization;
using Orleans.Storage;

namespace Jiniac.Orchestrator;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The orchestrator: an Orleans silo with the Run/Stage/Shard/Checkpoint/Journal grains, the event
    /// consumers that feed them, and the gRPC control API (map it with <see cref="MapOrchestrator"/>).
    /// </summary>
    public static WebApplicationBuilder AddOrchestratorService(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ControlOptions>().BindConfiguration(ControlOptions.Section).ValidateOnStart();
        services.AddControlAccess();

        var jiniac = builder.Configuration.GetSection(JiniacOptions.Section).Get<JiniacOptions>() ?? new JiniacOptions();
        var orchestrator = builder.Configuration.GetSection(OrchestratorOptions.Section).Get<OrchestratorOptions>() ?? new OrchestratorOptions();
        if (jiniac.Topology == Topology.Embedded)
        {
            services.AddKeyedSingleton<IGrainStorage>(Grains.OrchestratorStorage.Name, (sp, _) => new FileGrainStorage(sp.GetRequiredService<StatePaths>().Grains));
            services.AddSingleton<IJournalStore>(sp => new FileJournalStore(sp.GetRequiredService<StatePaths>().Journal));
            services.AddSingleton<IShardLogStore>(sp => new FileShardLogStore(Path.Combine(sp.GetRequiredService<StatePaths>().Root, "shards")));
            // The embedded CLI finds its host through {state}/control.json; a distributed orchestrator is reached at Control:Url.
            services.AddHostedService<ControlEndpointFile>();
        }
        else
        {
            AddRedisJournal(services, jiniac);
            // Found before AddJiniacBus registers the consumers: MassTransit takes a consumer's definition from the container.
            services.AddSingleton<MassTransit.IConsumerDefinition<StageEventConsumer>, FailoverRetryDefinition<StageEventConsumer>>();
            services.AddSingleton<MassTransit.IConsumerDefinition<JournalRecorder>, FailoverRetryDefinition<JournalRecorder>>();
        }

        builder.UseOrleans(silo =>
        {
            if (jiniac.Topology == Topology.Distributed)
            {
                UseRedis(silo, jiniac, orchestrator);
            }
            else
            {
                // Embedded: one silo on loopback, on ports free at start, so several hosts (tests) never collide.
                silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), serviceId: "jiniac", clusterId: "jiniac-embedded");
                silo.UseInMemoryReminderService();
            }

            // A stage's re-issue reminder and a run's reconcile reminder tick every Orchestrator:ReissueCheckPeriod;
            // Orleans refuses periods under its minimum (a minute by default), so a shorter one lowers that minimum.
            silo.Configure<ReminderOptions>(o =>
                o.MinimumReminderPeriod = o.MinimumReminderPeriod < orchestrator.ReissueCheckPeriod ? o.MinimumReminderPeriod : orchestrator.ReissueCheckPeriod);
            silo.Services.AddSerializer(serializer => serializer.AddJsonSerializer(
                isSupported: type => type.Namespace?.StartsWith("Jiniac.", StringComparison.Ordinal) == true,
                OrchestratorJson.Options));
        });

        services.AddGrpc();
        services.AddJiniacIntegrations();
        // The limit covers a full batch of shard events being collected while others are handled (ShardEventBatchConsumerDefinition).
        services.BusRegistry().AddEndpoint(Queues.Orchestrator, 2 * ShardEventBatchConsumerDefinition.MessageLimit + 8,
            typeof(StageEventConsumer), typeof(JournalRecorder), typeof(ShardEventBatchConsumer));

        var url = builder.Configuration.GetSection(ControlOptions.Section).GetValue<string>(nameof(ControlOptions.Url)) ?? new ControlOptions().Url;
        var uri = new Uri(url);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Parse(uri.Host == "localhost" ? "127.0.0.1" : uri.Host), uri.Port, listen => listen.Protocols = HttpProtocols.Http2));
        // After the control listener, so the first server address stays the control API's.
        builder.AddDashboard();
        builder.AddOrchestratorTelemetry();
        return builder;
    }

    public static IEndpointRouteBuilder MapOrchestrator(this IEndpointRouteBuilder endpoints)
    {
        // One access rule (API keys and roles, or loopback only) in front of every endpoint of this host: docs/cli.md.
        if (endpoints is IApplicationBuilder app)
        {
            app.UseMiddleware<ControlAccessMiddleware>();
        }

        endpoints.MapGrpcService<ControlService>();
        endpoints.MapJiniacIntegrations();
        endpoints.MapDashboard();
        return endpoints;
    }

    /// <summary>
    /// Distributed: membership, grain state and reminders in Redis (run it with AOF, fsync always: infra/redis),
    /// so silos on several machines form one cluster and a silo's grains come back on another after it dies.
    /// </summary>
    private static void UseRedis(ISiloBuilder silo, JiniacOptions jiniac, OrchestratorOptions orchestrator)
    {
        if (string.IsNullOrWhiteSpace(jiniac.Redis))
        {
            throw new OptionsValidationException(JiniacOptions.Section, typeof(JiniacOptions),
                ["Jiniac:Redis: a Redis address (host:port) is required for the orchestrator in the distributed topology"]);
        }

        if (!IPAddress.TryParse(orchestrator.SiloAddress, out var address))
        {
            throw new OptionsValidationException(OrchestratorOptions.Section, typeof(OrchestratorOptions),
                [$"Orchestrator:SiloAddress: '{orchestrator.SiloAddress}' is not an IP address"]);
        }

        var redis = RedisOptions.Parse(jiniac.Redis);
        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = orchestrator.ServiceId;
            o.ClusterId = orchestrator.ClusterId;
        });
        silo.ConfigureEndpoints(address, orchestrator.SiloPort, orchestrator.GatewayPort, listenOnAnyHostAddress: false);
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
        silo.AddRedisGrainStorage(Grains.OrchestratorStorage.Name, o =>
        {
            o.ConfigurationOptions = redis.Clone();
            o.GrainStorageSerializer = new StateJsonSerializer();
        });
        silo.UseRedisReminderService(o => o.ConfigurationOptions = redis.Clone());
    }

    /// <summary>Every silo appends to and reads the same journal in Redis (the grain's own check-and-append script keeps it dense).</summary>
    private static void AddRedisJournal(IServiceCollection services, JiniacOptions jiniac)
    {
        const string Key = "jiniac-journal";
        services.AddKeyedSingleton<StackExchange.Redis.IConnectionMultiplexer>(Key, (_, _) =>
        {
            // Not abort-on-connect-fail: a connect that times out on a loaded machine (the chaos test saw it) would make
            // every journal activation fail; this way the multiplexer keeps reconnecting and commands wait for it.
            var options = RedisOptions.Parse(jiniac.Redis ?? "");
            options.AbortOnConnectFail = false;
            return StackExchange.Redis.ConnectionMultiplexer.Connect(options);
        });
        services.AddSingleton<IJournalStore>(sp => new RedisJournalStore(sp.GetRequiredKeyedService<StackExchange.Redis.IConnectionMultiplexer>(Key)));
        services.AddSingleton<IShardLogStore>(sp => new RedisShardLogStore(sp.GetRequiredKeyedService<StackExchange.Redis.IConnectionMultiplexer>(Key)));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Tells CLI commands on this machine where the live host's control API is: {state}/control.json.</summary>
internal sealed class ControlEndpointFile(IServer server, IHostApplicationLifetime lifetime, StatePaths paths, DashboardListener dashboard, ILogger<ControlEndpointFile> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            if (address is null)
            {
                return;
            }

            Directory.CreateDirectory(paths.Root);
            var temp = paths.ControlEndpointFile + ".tmp~";
            File.WriteAllText(temp, JsonSerializer.Serialize(new ControlEndpoint(address, Environment.ProcessId, dashboard.Url), OrchestratorJson.Options));
            File.Move(temp, paths.ControlEndpointFile, overwrite: true);
            Log.ControlListening(logger, address);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(paths.ControlEndpointFile)
            && JsonSerializer.Deserialize<ControlEndpoint>(File.ReadAllText(paths.ControlEndpointFile), OrchestratorJson.Options)?.Pid == Environment.ProcessId)
        {
            File.Delete(paths.ControlEndpointFile);
        }

        return Task.CompletedTask;
    }
}

/// <param name="Dashboard">The web dashboard's address (null when it is off); added after the first release, so older files lack it.</param>
public sealed record ControlEndpoint(string Address, int Pid, string? Dashboard = null);
