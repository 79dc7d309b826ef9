using RabbitMQ.Client;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// A subscriber of the documented `jiniac.events` topic exchange, bound before the run starts (the exchange does not
/// keep what no queue was bound for): an exclusive queue for RUN.CheckpointSaved, read back by cursor header.
/// </summary>
internal sealed class CheckpointQueue : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _queue;

    private CheckpointQueue(IConnection connection, IChannel channel, string queue)
    {
        _connection = connection;
        _channel = channel;
        _queue = queue;
    }

    public static async Task<CheckpointQueue> BindAsync(string amqpUrl, string runId)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(amqpUrl) }.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        // Declared as the sink declares it, so whichever comes first makes the same exchange.
        await channel.ExchangeDeclareAsync("jiniac.events", ExchangeType.Topic, durable: true, autoDelete: false);
        var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(queue, "jiniac.events", runId + ".CheckpointSaved");
        return new CheckpointQueue(connection, channel, queue);
    }

    /// <summary>The jiniac-cursor headers of the first <paramref name="count"/> messages, in arrival order.</summary>
    public async Task<List<long>> ReceiveAsync(int count, TimeSpan timeout)
    {
        var cursors = new List<long>();
        var deadline = DateTime.UtcNow + timeout;
        while (cursors.Count < count)
        {
            var message = await _channel.BasicGetAsync(_queue, autoAck: true);
            if (message is null)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{_queue}: {cursors.Count} of {count} CheckpointSaved messages after {timeout}");
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                continue;
            }

            Assert.Equal("CheckpointSaved", message.BasicProperties.Type);
            cursors.Add(Convert.ToInt64(message.BasicProperties.Headers!["jiniac-cursor"], System.Globalization.CultureInfo.InvariantCulture));
        }

        return cursors;
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
