using Microsoft.Extensions.Hosting;

namespace Jiniac.Publisher;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Publisher service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddPublisherService(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
