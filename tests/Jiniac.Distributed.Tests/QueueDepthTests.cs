using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Jiniac.Contracts;
using Jiniac.Hosting;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// A worker service as it runs distributed (a generic host, no web listener) serves Prometheus on its own
/// listener, with its queue's depth as the real broker counts it.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class QueueDepthTests(RabbitMqServer rabbit)
{
    [Fact]
    public async Task A_worker_serves_the_depth_of_its_queue_as_RabbitMQ_counts_it_on_its_own_Prometheus_listener()
    {
        // A vhost of this test alone, deleted at the end: a durable queue outlives the host.
        const string queue = "jiniac-test-depth";
        await using var vhost = await rabbit.VhostAsync("depth");
        var port = Platform.FreePorts(1);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jiniac:Topology"] = nameof(Topology.Distributed),
            ["Jiniac:RabbitMq"] = vhost.Address,
            ["Jiniac:StateDir"] = Path.Combine(Path.GetTempPath(), "jiniac-distributed-" + Guid.NewGuid().ToString("n")),
            [$"Jiniac:Concurrency:{queue}"] = "1",
            ["Telemetry:PrometheusListener"] = $"http://127.0.0.1:{port}",
            ["Telemetry:QueueDepthInterval"] = "00:00:00.200",
        });
        builder.Logging.ClearProviders();
        builder.AddJiniacDefaults();
        builder.Services.AddSingleton<Seen>();
        builder.Services.AddSingleton<Gate>();
        builder.Services.BusRegistry().AddEndpoint(queue, 1, typeof(BlockingProbe));
        builder.AddJiniacBus();
        var app = builder.Build();
        LogContext.Current = null; // as RabbitMqBusTests: a disposed host's log context would be reused
        await app.StartAsync();
        await using (var host = new RunningHost(app))
        {
            var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
            var runId = "t-" + Guid.NewGuid().ToString("n");
            for (var i = 0; i < 5; i++)
            {
                await endpoint.Send(BusHost.Shard(runId, $"s-{i}"));
            }

            // One is being handled (held by the gate), four wait: so says the broker, and so says the scrape.
            await Until(async () => (await vhost.QueuesAsync()).GetValueOrDefault(queue) is (4, 1, _), "the broker counts 4 ready, 1 unacknowledged");
            using var http = new HttpClient();
            var scrape = new Uri($"http://127.0.0.1:{port}/metrics");
            await Until(async () => Sample(await http.GetStringAsync(scrape), "jiniac_queue_depth", queue) == 4, "the scrape says 4 wait");
            Assert.Equal(1, Sample(await http.GetStringAsync(scrape), "jiniac_queue_consumers", queue));

            host.Services.GetRequiredService<Gate>().Open();
            await Until(async () => Sample(await http.GetStringAsync(scrape), "jiniac_queue_depth", queue) == 0, "the scrape says none wait");
            Assert.Equal(5, host.Services.GetRequiredService<Seen>().Of(runId).Count);
        }
    }

    private static double? Sample(string text, string name, string queue)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains($"queue=\"{queue}\"", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await timer.WaitForNextTickAsync();
        }
    }
}
