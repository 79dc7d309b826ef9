using System.Collections.Concurrent;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// The bus registration the services use (<see cref="HostingExtensions.AddJiniacBus"/>), switched to
/// RabbitMQ by configuration alone, against a real broker. Each test has a vhost of its own, so nothing an
/// earlier test or run left in a durable queue can be counted.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RabbitMqBusTests(RabbitMqServer rabbit)
{
    [Fact]
    public async Task A_command_sent_through_Queues_For_reaches_the_consumer_of_its_durable_queue()
    {
        var runId = NewRunId();
        await using var vhost = await rabbit.VhostAsync("bus");
        await using var host = await StartAsync(vhost, new(), registry => registry.AddEndpoint(Queues.Tokenize, 2, typeof(TokenizeProbe)));

        await host.Services.GetRequiredService<ICommandSender>().SendAsync(BusHost.Shard(runId, "s-1"), CancellationToken.None);

        var seen = await Eventually(() => host.Services.GetRequiredService<Seen>().Of(runId).SingleOrDefault());
        Assert.Equal("s-1", seen);
        var queues = await vhost.QueuesAsync();
        Assert.True(queues[Queues.Tokenize].Durable, $"{Queues.Tokenize} is not durable");
    }

    [Fact]
    public async Task A_consumer_that_keeps_failing_is_retried_in_process_then_its_message_lands_in_the_error_queue()
    {
        const string queue = "jiniac-test-faulty";
        var runId = NewRunId();
        await using var vhost = await rabbit.VhostAsync("bus");
        await using var host = await StartAsync(vhost, new() { ["Jiniac:Redelivery"] = "none" }, registry => registry.AddEndpoint(queue, 1, typeof(FailingProbe)));

        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(BusHost.Shard(runId, "poison"));

        var seen = host.Services.GetRequiredService<Seen>();
        // One delivery plus the three retries of UseMessageRetry(100, 500, 2000 ms), then the fault goes to {queue}_error.
        await Eventually(async () => (await vhost.QueuesAsync()).GetValueOrDefault(queue + "_error").Ready == 1 ? true : (bool?)null);
        Assert.Equal(4, seen.Of(runId).Count);
        Assert.Equal(0, (await vhost.QueuesAsync())[queue].Ready);
    }

    [Fact]
    public async Task The_concurrency_limit_from_configuration_caps_what_the_broker_hands_out_and_what_runs()
    {
        const string queue = "jiniac-test-limited";
        var runId = NewRunId();
        await using var vhost = await rabbit.VhostAsync("bus");
        await using var host = await StartAsync(
            vhost,
            new() { [$"Jiniac:Concurrency:{queue}"] = "2" },
            registry => registry.AddEndpoint(queue, 16, typeof(BlockingProbe)));
        var gate = host.Services.GetRequiredService<Gate>();
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
        for (var i = 0; i < 8; i++)
        {
            await endpoint.Send(BusHost.Shard(runId, $"s-{i}"));
        }

        await Eventually(async () =>
        {
            var q = (await vhost.QueuesAsync())[queue];
            return gate.Running == 2 && q.Ready == 6 ? true : (bool?)null;
        });
        // The registered 16 was overridden: the broker holds back six, two are being handled.
        Assert.Equal(2, (await vhost.QueuesAsync())[queue].Unacked);
        gate.Open();
        await Eventually(() => host.Services.GetRequiredService<Seen>().Of(runId).Count == 8 ? true : (bool?)null);
        Assert.Equal(2, gate.MaxRunning);
    }

    [Fact]
    public async Task A_published_event_reaches_every_subscribing_queue()
    {
        var runId = NewRunId();
        await using var vhost = await rabbit.VhostAsync("bus");
        await using var host = await StartAsync(vhost, new(), registry =>
        {
            registry.AddEndpoint("jiniac-test-subscriber-a", 1, typeof(EventProbeA));
            registry.AddEndpoint("jiniac-test-subscriber-b", 1, typeof(EventProbeB));
        });

        await host.Services.GetRequiredService<IBus>().Publish(new IngestFailed { RunId = runId, Stage = "s", Source = "src", Attempt = 1, Reason = "probe" });

        var seen = host.Services.GetRequiredService<Seen>();
        await Eventually(() => seen.Of(runId).Count == 2 ? true : (bool?)null);
        Assert.Equal(["a", "b"], seen.Of(runId).Order(StringComparer.Ordinal));
    }

    private static string NewRunId() => "t-" + Guid.NewGuid().ToString("n");

    private static Task<RunningHost> StartAsync(RabbitVhost vhost, Dictionary<string, string?> settings, Action<JiniacBusRegistry> endpoints) =>
        BusHost.StartAsync(vhost.Address, settings, endpoints);

    private static Task<T> Eventually<T>(Func<T?> probe) => BusHost.Eventually(probe);

    private static Task<T> Eventually<T>(Func<Task<T?>> probe) => BusHost.Eventually(probe);
}

/// <summary>What the probes saw, by run id.</summary>
public sealed class Seen
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _byRun = new(StringComparer.Ordinal);

    public void Add(string runId, string what) => _byRun.GetOrAdd(runId, _ => new()).Enqueue(what);

    public IReadOnlyList<string> Of(string runId) => _byRun.TryGetValue(runId, out var q) ? [.. q] : [];
}

/// <summary>Holds consumers until the test opens it, counting how many run at once.</summary>
public sealed class Gate
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _max;

    public int Running => Volatile.Read(ref _running);

    public int MaxRunning => Volatile.Read(ref _max);

    public void Open() => _open.TrySetResult();

    public async Task PassAsync(CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _running);
        int max;
        while (now > (max = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, max) != max)
        {
        }

        try
        {
            await _open.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}

public sealed class TokenizeProbe(Seen seen) : IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        seen.Add(context.Message.RunId, context.Message.Shards[0].ShardKey);
        return Task.CompletedTask;
    }
}

public sealed class FailingProbe(Seen seen) : IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        seen.Add(context.Message.RunId, context.Message.Shards[0].ShardKey);
        throw new InvalidOperationException($"{context.Message.Shards[0].ShardKey}: this consumer always fails");
    }
}

public sealed class BlockingProbe(Seen seen, Gate gate) : IConsumer<TokenizeShards>
{
    public async Task Consume(ConsumeContext<TokenizeShards> context)
    {
        await gate.PassAsync(context.CancellationToken);
        seen.Add(context.Message.RunId, context.Message.Shards[0].ShardKey);
    }
}

public sealed class EventProbeA(Seen seen) : IConsumer<IngestFailed>
{
    public Task Consume(ConsumeContext<IngestFailed> context)
    {
        seen.Add(context.Message.RunId, "a");
        return Task.CompletedTask;
    }
}

public sealed class EventProbeB(Seen seen) : IConsumer<IngestFailed>
{
    public Task Consume(ConsumeContext<IngestFailed> context)
    {
        seen.Add(context.Message.RunId, "b");
        return Task.CompletedTask;
    }
}
