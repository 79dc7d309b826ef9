using Jiniac.Contracts;
using MassTransit;

namespace Jiniac.TrainLauncher;

/// <summary>Hands the stage to the supervisor and returns at once: training takes hours, a consumer must not.</summary>
public sealed class LaunchTrainingConsumer(TrainingSupervisor supervisor) : IConsumer<LaunchTraining>
{
    public Task Consume(ConsumeContext<LaunchTraining> context)
    {
        supervisor.Launch(context.Message);
        return Task.CompletedTask;
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
