using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Parquet;
using Parquet.Schema;

namespace Jiniac.Ingest.Tests;

/// <summary>
/// One small corpus in every format a source reads (and broken and skipped files), written as files and as
/// blobs, so a blob:// source can be checked against the same data read from a folder.
/// </summary>
internal static class BlobCorpus
{
    public const string Prefix = "raw/ja-web/";

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    private static byte[] Gzip(string content, int truncateBy = 0)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(content));
        }

        var bytes = buffer.ToArray();
        return bytes[..(bytes.Length - truncateBy)];
    }

    private static async Task<byte[]> ParquetAsync(params string[] rows)
    {
        var text = new DataField<string>("text");
        using var buffer = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(text), buffer))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(text, (IReadOnlyCollection<string>)rows);
        }

        return buffer.ToArray();
    }

    /// <summary>Relative name → bytes. Big enough that a blob crosses several 64 KiB blocks and read buffers.</summary>
    public static async Task<SortedDictionary<string, byte[]>> FilesAsync()
    {
        var many = string.Concat(Enumerable.Range(0, 4000).Select(i => Line($"record {i} of the long file, {i * 7919 % 10007} and some words after it")));
        return new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["a.jsonl"] = Encoding.UTF8.GetBytes(Line("first line of a") + Line("ｗｉｄｅ second line") + "{\"text\": broken\n" + Line("fourth line of a")),
            ["c.jsonl.zst"] = new ZstdSharp.Compressor(3).Wrap(Encoding.UTF8.GetBytes(Line("zstd one") + Line("zstd two"))).ToArray(),
            ["d.parquet"] = await ParquetAsync("parquet row one", "二行目の文章です"),
            ["docs/e.txt"] = Encoding.UTF8.GetBytes("A plain text document.\nWith two lines.\n"),
            ["docs/f.md"] = Encoding.UTF8.GetBytes("# Title\n\nA markdown document body.\n"),
            ["docs/g.html"] = Encoding.UTF8.GetBytes("<html><body><article><p>The article text of the page, long enough to be kept.</p></article></body></html>"),
            ["notes.bin"] = [1, 2, 3],
            ["sub/.hidden.jsonl"] = Encoding.UTF8.GetBytes(Line("hidden, never read")),
            ["sub/b.jsonl.gz"] = Gzip(Line("gzip one") + Line("gzip two")),
            ["sub/big.jsonl.gz"] = Gzip(many),
            ["sub/cut.jsonl.gz"] = Gzip(many, truncateBy: 300),
        };
    }

    public static async Task PutAsync(IBlobStore store, SortedDictionary<string, byte[]> files)
    {
        foreach (var (name, bytes) in files)
        {
            await store.PutAsync(Prefix + name, new MemoryStream(bytes), CancellationToken.None);
        }
    }

    public static SourceSpec Spec(params string[] paths) =>
        IngestFixture.Spec("web", paths) with { Cleaning = new CleaningSpec { MaxDigitRatio = 1, Repetition = false }, Dedup = new DedupSpec { Near = false } };

    public static async Task<List<JsonElement>> QuarantineAsync(IBlobStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key, CancellationToken.None);
        using var reader = new StreamReader(stream);
        var entries = new List<JsonElement>();
        while (await reader.ReadLineAsync() is { } line)
        {
            entries.Add(JsonDocument.Parse(line).RootElement.Clone());
        }

        return entries;
    }
}

public sealed class BlobSourceTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private async Task<SortedDictionary<string, byte[]>> WriteBothAsync()
    {
        var files = await BlobCorpus.FilesAsync();
        foreach (var (name, bytes) in files)
        {
            _fx.Write(Path.Combine("web", name), bytes);
        }

        await BlobCorpus.PutAsync(_fx.Blobs, files);
        return files;
    }

    [Fact]
    public async Task A_blob_prefix_gives_the_same_shards_as_the_same_files_in_a_folder_and_quarantines_by_blob_name()
    {
        await WriteBothAsync();

        var (fromFolder, _) = await _fx.IngestAsync(BlobCorpus.Spec(Path.Combine(_fx.Input, "web")), "runs/r/s/folder");
        var (fromBlobs, _) = await _fx.IngestAsync(BlobCorpus.Spec("blob://" + BlobCorpus.Prefix), "runs/r/s/blobs");

        // Document ids are relative to the prefix as they are to the folder: the shards are the same blobs.
        Assert.Equal(fromFolder.Shards.Select(s => s.ShardKey), fromBlobs.Shards.Select(s => s.ShardKey));
        Assert.Equal((fromFolder.RecordsIn, fromFolder.RecordsOut, fromFolder.Files, fromFolder.BytesIn), (fromBlobs.RecordsIn, fromBlobs.RecordsOut, fromBlobs.Files, fromBlobs.BytesIn));
        Assert.Equal(9, fromBlobs.Files); // notes.bin is not a source format and .hidden.jsonl is hidden
        var texts = (await _fx.DocumentsAsync(fromBlobs.Shards)).Select(d => d.Text).ToList();
        Assert.Contains("wide second line", texts);
        Assert.Contains("二行目の文章です", texts);
        Assert.Contains("zstd two", texts);
        Assert.Contains("The article text of the page, long enough to be kept.", texts);
        Assert.Contains(texts, t => t.StartsWith("record 3999 of the long file", StringComparison.Ordinal));
        Assert.DoesNotContain("hidden, never read", texts);

        var entries = await BlobCorpus.QuarantineAsync(_fx.Blobs, fromBlobs.QuarantineBlob!);
        Assert.Equal([("blob://raw/ja-web/a.jsonl", "invalid_json", 3L), ("blob://raw/ja-web/sub/cut.jsonl.gz", "truncated_gzip", entries[1].GetProperty("line").GetInt64())],
            entries.Select(e => (e.GetProperty("file").GetString()!, e.GetProperty("reason").GetString()!, e.GetProperty("line").GetInt64())));
        Assert.InRange(entries[1].GetProperty("line").GetInt64(), 3000, 3999);
        var folderEntries = await BlobCorpus.QuarantineAsync(_fx.Blobs, fromFolder.QuarantineBlob!);
        Assert.Equal(folderEntries.Select(e => (e.GetProperty("reason").GetString(), e.GetProperty("line").GetInt64())),
            entries.Select(e => (e.GetProperty("reason").GetString(), e.GetProperty("line").GetInt64())));

        using var report = JsonDocument.Parse(await _fx.ReadBlobAsync(fromBlobs.ReportBlob));
        Assert.Equal(1, report.RootElement.GetProperty("skippedFiles").GetInt32());
        Assert.Contains("blob://raw/ja-web/sub/big.jsonl.gz", report.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task A_blob_glob_and_a_single_blob_key_select_only_what_they_name()
    {
        await WriteBothAsync();

        var (globbed, _) = await _fx.IngestAsync(BlobCorpus.Spec("blob://raw/**/b.jsonl.gz", "blob://raw/ja-web/c.jsonl.zst", "blob://raw/ja-web/*/*.txt"), "runs/r/s/glob");

        Assert.Equal([("web:ja-web/sub/b.jsonl.gz:1", "gzip one"), ("web:ja-web/sub/b.jsonl.gz:2", "gzip two"), ("web:c.jsonl.zst:1", "zstd one"),
                ("web:c.jsonl.zst:2", "zstd two"), ("web:docs/e.txt", "A plain text document.\nWith two lines.")],
            (await _fx.DocumentsAsync(globbed.Shards)).Select(d => (d.Id, d.Text)));
        Assert.Equal(0, globbed.Quarantined);
    }

    [Fact]
    public async Task A_blob_path_that_matches_nothing_or_is_malformed_fails_the_source_naming_it()
    {
        await WriteBothAsync();

        var none = await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(BlobCorpus.Spec("blob://raw/en-web/")));
        Assert.Contains("'blob://raw/en-web/' matches no blob", none.Message);
        var onlySkipped = await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(BlobCorpus.Spec("blob://raw/ja-web/*.bin")));
        Assert.Contains("'blob://raw/ja-web/*.bin' matches no .jsonl/.jsonl.gz/.jsonl.zst/.parquet/.txt/.md/.html blobs", onlySkipped.Message);
        var unknownKind = await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(BlobCorpus.Spec("blob://raw/ja-web/notes.bin")));
        Assert.Contains("cannot tell the format of 'blob://raw/ja-web/notes.bin'", unknownKind.Message);
        var bad = await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(BlobCorpus.Spec("blob://raw/../secret/")));
        Assert.Contains("segment '..'", bad.Message);
    }

    [Fact]
    public void The_reference_blob_source_example_loads_as_written()
    {
        var spec = PipelineLoader.ParseSource(IngestReferenceTests.Example("#### Blob-store sources"), "pipeline-reference.md", _fx.Input, "unused", []);

        Assert.Equal(["blob://raw/ja-web/2024/", "blob://raw/ja-web/extra/**/*.jsonl.zst", "blob://raw/ja-books/aozora.parquet"], spec.Paths);
    }

    [Fact]
    public void The_loader_checks_blob_paths_and_reports_file_line_and_column()
    {
        var spec = PipelineLoader.ParseSource("name: web\npaths: [\"blob://raw/ja-web/\", \"blob://raw/**/*.jsonl.gz\"]\n", "source.yaml", "/tmp", "x", []);
        Assert.Equal(["blob://raw/ja-web/", "blob://raw/**/*.jsonl.gz"], spec.Paths);

        var e = Assert.Throws<PipelineValidationException>(() =>
            PipelineLoader.ParseSource("name: web\npaths:\n  - blob://raw/ja-web/\n  - blob:///abs/x.jsonl\n  - blob://raw/a**b/\n  - blob://\n", "source.yaml", "/tmp", "x", []));
        var lines = e.Message.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("source.yaml:4:5: paths[1]:", StringComparison.Ordinal) && l.Contains("a blob key is relative"));
        Assert.Contains(lines, l => l.StartsWith("source.yaml:5:5: paths[2]:", StringComparison.Ordinal) && l.Contains("'**' must be a whole segment"));
        Assert.Contains(lines, l => l.StartsWith("source.yaml:6:5: paths[3]:", StringComparison.Ordinal) && l.Contains("names no blob"));
    }
}

/// <summary>The same corpus as blobs in Azure Blob Storage (a real Azurite), read by the streaming download.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobSourceTests(AzuriteFixture azurite) : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task A_prefix_in_Azure_Blob_Storage_is_ingested_like_the_same_blobs_in_a_folder_store()
    {
        var files = await BlobCorpus.FilesAsync();
        await BlobCorpus.PutAsync(_fx.Blobs, files);
        var container = new Azure.Storage.Blobs.BlobContainerClient(azurite.ConnectionString, $"t{Guid.NewGuid():N}");
        try
        {
            var azure = new AzureBlobStore(container, Path.Combine(_fx.Root, "azure-cache"), blockSize: 64 << 10);
            await BlobCorpus.PutAsync(azure, files);
            var fromAzure = new SourceIngestor(_fx.Blobs, azure, new IngestOptions { TempDir = Path.Combine(_fx.Root, "tmp-azure") }, TimeProvider.System,
                NullLogger<SourceIngestor>.Instance);

            var spec = BlobCorpus.Spec("blob://" + BlobCorpus.Prefix);
            var (local, _) = await _fx.IngestAsync(spec, "runs/r/s/local");
            var remote = await fromAzure.IngestAsync(spec, "runs/r/s/azure", _ => Task.CompletedTask, CancellationToken.None);

            Assert.Equal(local.Shards.Select(s => s.ShardKey), remote.Shards.Select(s => s.ShardKey));
            Assert.Equal((local.RecordsIn, local.RecordsOut, local.BytesIn, 9), (remote.RecordsIn, remote.RecordsOut, remote.BytesIn, remote.Files));
            var entries = await BlobCorpus.QuarantineAsync(_fx.Blobs, remote.QuarantineBlob!);
            var localEntries = await BlobCorpus.QuarantineAsync(_fx.Blobs, local.QuarantineBlob!);
            Assert.Equal(localEntries.Select(e => e.GetRawText()), entries.Select(e => e.GetRawText()));
            Assert.Equal(["blob://raw/ja-web/a.jsonl", "blob://raw/ja-web/sub/cut.jsonl.gz"], entries.Select(e => e.GetProperty("file").GetString()));
        }
        finally
        {
            await container.DeleteIfExistsAsync();
        }
    }
}
