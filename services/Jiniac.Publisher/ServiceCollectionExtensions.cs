using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Publisher.Hub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Publisher;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Publisher service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddPublisherService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PublisherOptions>()
            .BindConfiguration(PublisherOptions.Section)
            .Validate(o => o.LockTimeout >= TimeSpan.Zero, "Publisher:LockTimeout must not be negative")
            .Validate(o => o.HubMaxAttempts >= 1, "Publisher:HubMaxAttempts must be at least 1")
            .Validate(o => o.LocalHubChunkSize is > 0 and <= int.MaxValue, "Publisher:LocalHubChunkSize must be between 1 byte and 2 GiB")
            .Validate(o => (o.TokenSecretStore is null) == (o.TokenSecretKey is null), "Publisher:TokenSecretStore and Publisher:TokenSecretKey go together")
            .Validate(o => o.TokenSecretStore is null || o.TokenFile is null, "Publisher:TokenFile and Publisher:TokenSecretStore are two sources of one token; set one")
            .Validate(o => o.TokenSecretTimeout > TimeSpan.Zero, "Publisher:TokenSecretTimeout must be positive")
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelExporter>();
        builder.Services.AddSingleton<LocalHubs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalHubs>());
        builder.Services.AddSingleton<HubPublisher>(sp => new HubPublisher(
            sp.GetRequiredService<ModelExporter>(), sp.GetRequiredService<LocalHubs>(), HubHttp(sp.GetRequiredService<IOptions<PublisherOptions>>().Value),
            sp.GetRequiredService<IOptions<PublisherOptions>>(), sp.GetRequiredService<StatePaths>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<HubPublisher>>()));
        // One at a time: each publish reads main's head, commits on top of it and moves the stage's branch.
        builder.Services.BusRegistry().AddEndpoint(Queues.Publisher, 1, typeof(PublishModelConsumer));
        return builder;
    }

    /// <summary>No redirects followed blindly and no default 100 s cap: a shard upload is one long request, bounded by HubRequestTimeout.</summary>
    private static HttpClient HubHttp(PublisherOptions options) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = true })
        {
            Timeout = options.HubRequestTimeout,
        };
}
