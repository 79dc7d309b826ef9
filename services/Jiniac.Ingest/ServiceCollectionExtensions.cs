using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Ingest;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Ingest service: its options, workers and bus endpoint. The embedded host and this service's Program.cs both call it.</summary>
    public static IHostApplicationBuilder AddIngestService(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var configured = sp.GetRequiredService<IOptions<IngestOptions>>().Value;
            // Temp files live beside the blobs so a finished shard is moved into the store, not copied.
            var options = new IngestOptions
            {
                Concurrency = configured.Concurrency,
                MaxRecordBytes = configured.MaxRecordBytes,
                TempDir = configured.TempDir ?? Path.Combine(sp.GetRequiredService<StatePaths>().Temp, "ingest"),
            };
            return new SourceIngestor(sp.GetRequiredService<IBlobStore>(), options, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<SourceIngestor>>());
        });

        var concurrency = builder.Configuration.GetSection(IngestOptions.Section).GetValue<int?>(nameof(IngestOptions.Concurrency))
            ?? new IngestOptions().Concurrency;
        services.BusRegistry().AddEndpoint(Queues.Ingest, Math.Max(1, concurrency), typeof(IngestSourceConsumer));
        return builder;
    }
}
