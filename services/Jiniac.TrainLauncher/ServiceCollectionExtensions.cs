using Jiniac.Contracts;
using Jiniac.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.TrainLauncher;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the TrainLauncher service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddTrainLauncherService(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TrainLauncherOptions>()
            .BindConfiguration(TrainLauncherOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.ProgressInterval >= TimeSpan.Zero && o.StopTimeout > TimeSpan.Zero,
                "TrainLauncher: PollInterval and StopTimeout must be positive; ProgressInterval not negative")
            .ValidateOnStart();
        services.AddSingleton<TrainingSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainingSupervisor>());
        // Both consumers only hand work over, so a few at once is plenty.
        services.BusRegistry().AddEndpoint(Queues.TrainLauncher, 4, typeof(LaunchTrainingConsumer), typeof(StopTrainingConsumer), typeof(PruneCheckpointsConsumer));
        return builder;
    }
}
