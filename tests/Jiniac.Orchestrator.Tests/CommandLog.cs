using Jiniac.Contracts;
using MassTransit;

namespace Jiniac.Orchestrator.Tests;

/// <summary>Every command the orchestrator sent to a worker queue, in arrival order. The tests play the workers.</summary>
public sealed class CommandLog
{
    private readonly Lock _gate = new();
    private readonly List<object> _commands = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(object command)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _commands.Add(command);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    public List<T> Of<T>(Func<T, bool>? match = null)
    {
        lock (_gate)
        {
            var result = new List<T>();
            foreach (var command in _commands)
            {
                if (command is T typed && (match is null || match(typed)))
                {
                    result.Add(typed);
                }
            }

            return result;
        }
    }

    /// <summary>All commands, in the order they arrived, for order assertions.</summary>
    public List<object> All()
    {
        lock (_gate)
        {
            return [.. _commands];
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> commands of type T match, or fails at the deadline.</summary>
    public async Task<List<T>> WaitForAsync<T>(Func<T, bool> match, int count = 1, string? what = null)
    {
        var deadline = DateTime.UtcNow + Eventually.Timeout;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            var found = Of(match);
            if (found.Count >= count)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"timed out waiting for {count} {typeof(T).Name} command(s) {what}; got {found.Count}. Sent so far: {string.Join(", ", All().Select(c => c.GetType().Name))}");
            }

            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                // The deadline check above reports it with what was seen.
            }
        }
    }
}

// One recorder per worker queue, each consuming exactly the commands Queues.For routes to that queue.

public sealed class IngestRecorder(CommandLog log) : IConsumer<IngestSource>
{
    public Task Consume(ConsumeContext<IngestSource> context) => Record(log, context.Message);

    internal static Task Record(CommandLog log, object message)
    {
        log.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>
/// One shard of a <see cref="TokenizeShards"/>, as the tests' tokenizer takes it: the log holds one per shard (in the command's
/// order) instead of the command, so a test counts shards however the orchestrator grouped them; Command is the whole command.
/// </summary>
public sealed record TokenizeRequest(TokenizeShards Command, ShardToTokenize Shard)
{
    public string RunId => Command.RunId;

    public string Stage => Command.Stage;

    public string ShardKey => Shard.ShardKey;

    public string ShardBlob => Shard.ShardBlob;

    public string TokenizerBlob => Command.TokenizerBlob;

    public string TokenizerHash => Command.TokenizerHash;

    public bool AddSpecialTokens => Command.AddSpecialTokens;
}

public sealed class TokenizeRecorder(CommandLog log) : IConsumer<TrainTokenizer>, IConsumer<RegisterTokenizer>, IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TrainTokenizer> context) => IngestRecorder.Record(log, context.Message);

    public Task Consume(ConsumeContext<RegisterTokenizer> context) => IngestRecorder.Record(log, context.Message);

    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        foreach (var shard in context.Message.Shards)
        {
            log.Add(new TokenizeRequest(context.Message, shard));
        }

        return Task.CompletedTask;
    }
}

public sealed class TrainRecorder(CommandLog log) : IConsumer<LaunchTraining>, IConsumer<StopTraining>, IConsumer<PruneCheckpoints>
{
    public Task Consume(ConsumeContext<LaunchTraining> context) => IngestRecorder.Record(log, context.Message);

    public Task Consume(ConsumeContext<StopTraining> context) => IngestRecorder.Record(log, context.Message);

    public Task Consume(ConsumeContext<PruneCheckpoints> context) => IngestRecorder.Record(log, context.Message);
}

public sealed class EvaluateRecorder(CommandLog log) : IConsumer<EvaluateCheckpoint>
{
    public Task Consume(ConsumeContext<EvaluateCheckpoint> context) => IngestRecorder.Record(log, context.Message);
}

public sealed class PublishRecorder(CommandLog log) : IConsumer<PublishModel>
{
    public Task Consume(ConsumeContext<PublishModel> context) => IngestRecorder.Record(log, context.Message);
}
