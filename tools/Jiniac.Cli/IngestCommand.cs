using System.Globalization;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Jiniac.Ingest;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Cli;

/// <summary>
/// `jiniac ingest`: the pipeline's ingest of one source, outside a pipeline — the same SourceIngestor,
/// writing into a folder: <c>DIR/shards/*.jsonl</c>, <c>DIR/ingest/report.json</c>, <c>DIR/ingest/quarantine.jsonl</c>.
/// </summary>
internal static class IngestCommand
{
    public const string OutputPrefix = "ingest";
    private const string UsageText = "usage: jiniac ingest --source FILE_OR_GLOB_OR_BLOB... [--config source.yaml] [--blob-store DIR|azure] --output DIR";

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var sources = args.GetAll("source");
        var config = args.Get("config");
        var output = args.Get("output");
        var blobStore = args.Get("blob-store");
        args.RejectUnknown();
        if (output is null || args.Positionals.Count > 0 || (sources.Count == 0 && config is null))
        {
            throw new CliException(UsageText);
        }

        var spec = ReadSpec(config, [.. sources.Select(s => BlobSourcePaths.IsBlob(s) ? s : Path.GetFullPath(s))]);
        var outputDir = Path.GetFullPath(output);
        Directory.CreateDirectory(outputDir);
        var blobs = new FolderBlobStore(outputDir);
        var sourceBlobs = SourceStore(blobStore, spec, outputDir) ?? blobs;
        var ingestor = new SourceIngestor(blobs, sourceBlobs, new IngestOptions { TempDir = Path.Combine(outputDir, ".tmp") }, TimeProvider.System,
            NullLogger<SourceIngestor>.Instance);

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var started = TimeProvider.System.GetTimestamp();
        IngestResult result;
        try
        {
            result = await ingestor.IngestAsync(spec, OutputPrefix, _ => Task.CompletedTask, cancel.Token);
        }
        catch (Exception e) when (e is SourceUnreadableException or ArgumentException)
        {
            throw new CliException(e.Message);
        }
        finally
        {
            TryDelete(Path.Combine(outputDir, ".tmp"));
        }

        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
        var dropped = result.Dropped.Values.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.RecordsIn:N0} records in from {result.Files} file(s) ({result.BytesIn / 1e6:F1} MB, {seconds:F1} s): {result.RecordsOut:N0} out " +
            $"({result.TrainRecords:N0} train, {result.EvalRecords:N0} eval) in {result.Shards.Count} shard(s); {dropped:N0} dropped by rule, " +
            $"{result.Duplicates:N0} exact and {result.NearDuplicates:N0} near duplicates, {result.QuarantinedRecords:N0} quarantined"));
        foreach (var (rule, count) in result.Dropped)
        {
            Console.WriteLine($"  dropped {rule}: {count:N0}");
        }

        foreach (var (kind, count) in result.PiiHits)
        {
            Console.WriteLine($"  pii {kind}: {count:N0}");
        }

        Console.WriteLine($"report: {Path.Combine(outputDir, result.ReportBlob)}");
        if (result.QuarantineBlob is not null)
        {
            Console.WriteLine($"quarantine: {Path.Combine(outputDir, result.QuarantineBlob)}");
        }

        return 0;
    }

    /// <summary>
    /// Where blob:// sources are read: a folder store, or Azure Blob Storage configured as a service's
    /// <c>Jiniac:Blobs</c> is (environment). Null when no path is a blob.
    /// </summary>
    private static IBlobStore? SourceStore(string? option, SourceSpec spec, string outputDir)
    {
        if (!spec.Paths.Any(BlobSourcePaths.IsBlob))
        {
            return option is null ? null : throw new CliException("--blob-store is only for blob:// sources");
        }

        if (option is null)
        {
            throw new CliException("blob:// sources need --blob-store DIR (a folder blob store) or --blob-store azure");
        }

        if (option != "azure")
        {
            var root = Path.GetFullPath(option);
            return Directory.Exists(root) ? new FolderBlobStore(root) : throw new CliException($"blob store folder not found '{root}'");
        }

        var connection = Environment.GetEnvironmentVariable("Jiniac__Blobs__ConnectionString");
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new CliException("--blob-store azure needs the connection string in Jiniac__Blobs__ConnectionString");
        }

        var container = Environment.GetEnvironmentVariable("Jiniac__Blobs__Container") is { Length: > 0 } named ? named : new BlobStoreOptions().Container;
        try
        {
            return new AzureBlobStore(connection, container, Path.Combine(outputDir, ".tmp", "blob-cache"));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CliException($"Jiniac__Blobs__ConnectionString is not a valid Azure Storage connection string: {e.Message}");
        }
    }

    private static SourceSpec ReadSpec(string? config, IReadOnlyList<string> sources)
    {
        var yaml = "";
        var baseDirectory = Directory.GetCurrentDirectory();
        var fileName = "--config";
        if (config is not null)
        {
            var full = Path.GetFullPath(config);
            if (!File.Exists(full))
            {
                throw new CliException($"config file not found '{full}'");
            }

            yaml = File.ReadAllText(full);
            baseDirectory = Path.GetDirectoryName(full)!;
            fileName = config;
        }

        try
        {
            // Outside a pipeline nothing is held out unless the config asks for it.
            var spec = PipelineLoader.ParseSource(yaml, fileName, baseDirectory, "ingest", sources);
            return yaml.Contains("eval_fraction", StringComparison.Ordinal) ? spec : spec with { EvalFraction = 0 };
        }
        catch (PipelineValidationException e)
        {
            throw new CliException(e.Message);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }
}
