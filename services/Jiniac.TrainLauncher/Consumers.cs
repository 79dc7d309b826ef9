using Jiniac.Contracts;
using MassTransit;

namespace Jiniac.TrainLauncher;

/// <summary>Hands the stage to the supervisor and returns at once: training takes hours, a consumer must not.</summary>
public sealed class LaunchTrainingConsumer(TrainingSupervisor supervisor) : IConsumer<LaunchTraining>
{
    public async Task Consume(ConsumeContext<LaunchTraining> context)
    {
        var message = context.Message;
        try
        {
            supervisor.Launch(message);
        }
        catch (ArgumentException e)
        {
            // An unsafe run or stage name never becomes a path; retrying cannot help, so say so.
            await context.Publish(new TrainingFailed { RunId = message.RunId, Stage = message.Stage, Attempt = message.Attempt, Reason = e.Message, Restarts = 0 }, context.CancellationToken);
        }
    }
}

/// <summary>SIGTERMs the stage's trainer: it saves a checkpoint and exits 75, and is not restarted.</summary>
public sealed class StopTrainingConsumer(TrainingSupervisor supervisor) : IConsumer<StopTraining>
{
    public Task Consume(ConsumeContext<StopTraining> context)
    {
        supervisor.Stop(context.Message);
        return Task.CompletedTask;
    }
}
