namespace Jiniac.Contracts.Tests;

public sealed class QueuesTests
{
    [Theory]
    [InlineData(typeof(IngestSource), Queues.Ingest)]
    [InlineData(typeof(TrainTokenizer), Queues.Tokenize)]
    [InlineData(typeof(RegisterTokenizer), Queues.Tokenize)]
    [InlineData(typeof(TokenizeShards), Queues.Tokenize)]
    [InlineData(typeof(LaunchTraining), Queues.TrainLauncher)]
    [InlineData(typeof(StopTraining), Queues.TrainLauncher)]
    [InlineData(typeof(EvaluateCheckpoint), Queues.Evaluator)]
    [InlineData(typeof(PublishModel), Queues.Publisher)]
    public void Each_command_goes_to_its_services_queue(Type command, string queue) =>
        Assert.Equal(queue, Queues.For(command));

    [Theory]
    [InlineData(typeof(ShardIngested))]
    [InlineData(typeof(CheckpointSaved))]
    [InlineData(typeof(ModelPublished))]
    [InlineData(typeof(string))]
    public void Events_and_other_types_have_no_queue(Type type)
    {
        var e = Assert.Throws<ArgumentException>(() => Queues.For(type));
        Assert.Contains(type.FullName!, e.Message);
    }

    [Fact]
    public void Every_command_in_the_contracts_has_a_queue_and_no_two_services_share_one()
    {
        // Commands are the records in Commands.cs: everything in the namespace that is not an event or a value.
        var commands = new[]
        {
            typeof(IngestSource), typeof(TrainTokenizer), typeof(RegisterTokenizer), typeof(TokenizeShards),
            typeof(LaunchTraining), typeof(StopTraining), typeof(EvaluateCheckpoint), typeof(PublishModel),
        };
        var queues = commands.Select(Queues.For).Distinct().ToArray();

        Assert.Equal(
            [Queues.Ingest, Queues.Tokenize, Queues.TrainLauncher, Queues.Evaluator, Queues.Publisher],
            queues);
        Assert.DoesNotContain(Queues.Orchestrator, queues);
    }
}
