using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Ingest.Tests;

/// <summary>A temp folder with input files, a folder blob store and an ingestor over them.</summary>
internal sealed class IngestFixture : IDisposable
{
    public IngestFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "jiniac-ingest-tests", Guid.NewGuid().ToString("N"));
        Input = Path.Combine(Root, "input");
        Directory.CreateDirectory(Input);
        Blobs = new FolderBlobStore(Path.Combine(Root, "blobs"));
        Ingestor = new SourceIngestor(Blobs, new IngestOptions { TempDir = Path.Combine(Root, "tmp") }, TimeProvider.System,
            NullLogger<SourceIngestor>.Instance);
    }

    public string Root { get; }
    public string Input { get; }
    public FolderBlobStore Blobs { get; }
    public SourceIngestor Ingestor { get; }

    public string Write(string relative, string content) => Write(relative, Encoding.UTF8.GetBytes(content));

    public string Write(string relative, byte[] content)
    {
        var path = Path.Combine(Input, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    public string WriteGzip(string relative, string content, int truncateBy = 0)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(content));
        }

        var bytes = buffer.ToArray();
        return Write(relative, bytes[..(bytes.Length - truncateBy)]);
    }

    public static SourceSpec Spec(string name, params string[] paths) => new()
    {
        Name = name,
        Paths = paths,
        EvalFraction = 0,
        MinChars = 1,
    };

    public async Task<(IngestResult Result, List<IngestedShard> Seen)> IngestAsync(SourceSpec spec, string prefix = "runs/r1/stage1/src")
    {
        var seen = new List<IngestedShard>();
        var result = await Ingestor.IngestAsync(spec, prefix, shard =>
        {
            seen.Add(shard);
            return Task.CompletedTask;
        }, CancellationToken.None);
        return (result, seen);
    }

    public async Task<byte[]> ReadBlobAsync(string key)
    {
        await using var stream = await Blobs.OpenReadAsync(key, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>The documents of the shards, as (id, text), in shard order.</summary>
    public async Task<List<(string Id, string Text, string Split)>> DocumentsAsync(IEnumerable<IngestedShard> shards)
    {
        var documents = new List<(string, string, string)>();
        foreach (var shard in shards)
        {
            var bytes = await ReadBlobAsync(shard.Blob);
            foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var json = JsonDocument.Parse(line);
                documents.Add((json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("text").GetString()!, shard.Split));
            }
        }

        return documents;
    }

    public async Task<List<JsonElement>> QuarantineAsync(string key)
    {
        var bytes = await ReadBlobAsync(key);
        var entries = new List<JsonElement>();
        foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            entries.Add(JsonDocument.Parse(line).RootElement.Clone());
        }

        return entries;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a leftover temp folder is harmless
        }
    }
}
