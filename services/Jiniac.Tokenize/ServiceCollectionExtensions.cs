using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Tokenize.Consumers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Tokenize;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Tokenize service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddTokenizeService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TokenizeOptions>().BindConfiguration(TokenizeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TokenizerStore>();
        builder.Services.AddSingleton<FileTokenizer>();
        var options = builder.Configuration.GetSection(TokenizeOptions.Section).Get<TokenizeOptions>() ?? new TokenizeOptions();
        builder.Services.BusRegistry().AddEndpoint(
            Queues.Tokenize,
            Math.Max(1, options.ConcurrentMessages),
            typeof(TrainTokenizerConsumer),
            typeof(RegisterTokenizerConsumer),
            typeof(TokenizeShardsConsumer));
        return builder;
    }
}
