using Jiniac.Contracts;
using Jiniac.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Publisher;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Publisher service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddPublisherService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PublisherOptions>()
            .BindConfiguration(PublisherOptions.Section)
            .Validate(o => o.LockTimeout >= TimeSpan.Zero, "Publisher:LockTimeout must not be negative")
            .ValidateOnStart();
        builder.Services.AddSingleton<LocalHub>();
        // One at a time: a revision is written, then the index and refs/main move.
        builder.Services.BusRegistry().AddEndpoint(Queues.Publisher, 1, typeof(PublishModelConsumer));
        return builder;
    }
}
