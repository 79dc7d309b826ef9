using Jiniac.Contracts;
using Jiniac.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Evaluator;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Evaluator service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddEvaluatorService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EvaluatorOptions>()
            .BindConfiguration(EvaluatorOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.StopTimeout > TimeSpan.Zero, "Evaluator:StopTimeout must be positive")
            .ValidateOnStart();
        // The endpoint's concurrency is needed now, before options are built: read it from configuration.
        var concurrency = builder.Configuration.GetSection(EvaluatorOptions.Section).GetValue(nameof(EvaluatorOptions.Concurrency), 1);
        builder.Services.BusRegistry().AddEndpoint(Queues.Evaluator, Math.Clamp(concurrency, 1, 64), typeof(EvaluateCheckpointConsumer));
        return builder;
    }
}
