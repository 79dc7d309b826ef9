using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.Distributed.Tests;

/// <summary>A host with only the services' bus registration (<see cref="HostingExtensions.AddJiniacBus"/>) on the real RabbitMQ, and polling with a deadline.</summary>
public static class BusHost
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A command for the tokenize queue that names one shard: what the bus tests send and count.</summary>
    public static TokenizeShards Shard(string runId, string key) => new()
    {
        RunId = runId, Stage = "s", Shards = [new ShardToTokenize { ShardKey = key, ShardBlob = "b" }], TokenizerBlob = "t", TokenizerHash = "h",
    };

    public static async Task<RunningHost> StartAsync(string rabbitAddress, Dictionary<string, string?> settings, Action<JiniacBusRegistry> endpoints)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        settings["Jiniac:Topology"] = nameof(Topology.Distributed);
        settings["Jiniac:RabbitMq"] = rabbitAddress;
        settings["Jiniac:StateDir"] = Path.Combine(Path.GetTempPath(), "jiniac-distributed-" + Guid.NewGuid().ToString("n"));
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddJiniacDefaults();
        builder.Services.AddSingleton<Seen>();
        builder.Services.AddSingleton<Gate>();
        endpoints(builder.Services.BusRegistry());
        builder.AddJiniacBus();
        var host = builder.Build();
        // MassTransit keeps its log context in a static set only while null; a disposed host's would be reused.
        LogContext.Current = null;
        await host.StartAsync();
        return new RunningHost(host);
    }

    public static Task<T> Eventually<T>(Func<T?> probe) => Eventually(() => Task.FromResult(probe()));

    public static async Task<T> Eventually<T>(Func<Task<T?>> probe)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var value = await probe();
            if (value is not null)
            {
                return value;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"not seen within {Deadline}");
            }

            await Task.Yield();
            await Task.Delay(50);
        }
    }
}
