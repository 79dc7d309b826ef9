using System.Text;
using Jiniac.Contracts;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// Jiniac:Redelivery on the real broker: after the in-process retries (four attempts) a message is parked in a TTL
/// queue that dead-letters it back to its endpoint, once per configured delay, and only then lands in {queue}_error.
/// Each test has a vhost of its own (deleted at the end), so nothing an earlier run left can be counted.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedeliveryTests(RabbitMqServer rabbit)
{
    private const string Delays = "00:00:00.300,00:00:00.600";

    [Fact]
    public async Task A_consumer_that_fails_past_its_in_process_retries_is_consumed_on_a_later_redelivery()
    {
        const string queue = "jiniac-test-redeliver";
        var runId = "t-" + Guid.NewGuid().ToString("n");
        await using var vhost = await rabbit.VhostAsync("redeliver");
        await using var host = await BusHost.StartAsync(vhost.Address, new() { ["Jiniac:Redelivery"] = Delays },
            registry => registry.AddEndpoint(queue, 1, typeof(FlakyProbe)));
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
        // Fails five times: the first delivery's four attempts and the first of the redelivery.
        await endpoint.Send(BusHost.Shard(runId, "fail-5"));

        var seen = host.Services.GetRequiredService<Seen>();
        await BusHost.Eventually(() => seen.Of(runId).Any(s => s.StartsWith("consumed", StringComparison.Ordinal)) ? true : (bool?)null);
        Assert.Equal("consumed at redelivery 1", seen.Of(runId)[^1]);
        Assert.Equal(6, seen.Of(runId).Count);
        var queues = await vhost.QueuesAsync();
        Assert.Equal(0, queues.GetValueOrDefault(queue + "_error").Ready);
        Assert.Equal(0, queues[DelayQueueRedeliveryFilter.ParkingQueue(queue, TimeSpan.FromMilliseconds(300))].Ready);
    }

    [Fact]
    public async Task A_consumer_that_always_fails_lands_in_the_error_queue_with_its_fault_headers_after_every_redelivery()
    {
        const string queue = "jiniac-test-redeliver";
        var runId = "t-" + Guid.NewGuid().ToString("n");
        await using var vhost = await rabbit.VhostAsync("redeliver");
        await using var host = await BusHost.StartAsync(vhost.Address, new() { ["Jiniac:Redelivery"] = Delays },
            registry => registry.AddEndpoint(queue, 1, typeof(FailingProbe)));
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(BusHost.Shard(runId, "poison"));

        await BusHost.Eventually(async () => (await vhost.QueuesAsync()).GetValueOrDefault(queue + "_error").Ready == 1 ? true : (bool?)null);
        // Three deliveries (the first, then one per delay), each with one attempt and three in-process retries.
        Assert.Equal(12, host.Services.GetRequiredService<Seen>().Of(runId).Count);

        var factory = new ConnectionFactory { Uri = new Uri(vhost.Address) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var faulted = await channel.BasicGetAsync(queue + "_error", autoAck: true);
        Assert.NotNull(faulted);
        Assert.Contains(runId, Encoding.UTF8.GetString(faulted.Body.Span), StringComparison.Ordinal);
        var headers = faulted.BasicProperties.Headers!;
        Assert.Equal(2, Convert.ToInt32(headers[DelayQueueRedeliveryFilter.CountHeader], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("poison: this consumer always fails", Text(headers[MessageHeaders.FaultMessage]), StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, Text(headers[MessageHeaders.FaultExceptionType]));
    }

    [Fact]
    public void A_redelivery_setting_that_is_not_a_list_of_delays_is_refused_naming_the_key()
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => DelayQueueRedeliveryFilter.ParseDelays("00:00:30,soon"));
        Assert.Contains("Jiniac:Redelivery: 'soon'", error.Message, StringComparison.Ordinal);
        Assert.Empty(DelayQueueRedeliveryFilter.ParseDelays("none"));
        Assert.Equal([TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5)], DelayQueueRedeliveryFilter.ParseDelays("00:00:30, 00:05:00"));
    }

    private static string Text(object? header) => header is byte[] bytes ? Encoding.UTF8.GetString(bytes) : header?.ToString() ?? "";
}

/// <summary>Fails the number of times its shard key names ("fail-5"), counting its run's earlier attempts, then succeeds.</summary>
public sealed class FlakyProbe(Seen seen) : IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        var m = context.Message;
        var attempt = seen.Of(m.RunId).Count + 1;
        if (attempt <= int.Parse(m.Shards[0].ShardKey["fail-".Length..], System.Globalization.CultureInfo.InvariantCulture))
        {
            seen.Add(m.RunId, $"failed attempt {attempt}");
            throw new InvalidOperationException($"{m.Shards[0].ShardKey}: attempt {attempt} fails");
        }

        seen.Add(m.RunId, $"consumed at redelivery {DelayQueueRedeliveryFilter.RedeliveryCount(context.ReceiveContext)}");
        return Task.CompletedTask;
    }
}
