using System.Text;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Ingest.Tests;

[CollectionDefinition(nameof(LargeRecordTests), DisableParallelization = true)]
public sealed class LargeRecordCollection;

/// <summary>Alone in its collection: it measures the process's allocations while it runs.</summary>
[Collection(nameof(LargeRecordTests))]
public sealed class LargeRecordTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task A_100_MB_record_is_quarantined_without_being_held_in_memory()
    {
        var path = Path.Combine(_fx.Input, "huge.jsonl");
        await using (var file = File.Create(path))
        {
            file.Write("{\"text\": \"before\"}\n{\"text\": \""u8);
            var chunk = Encoding.ASCII.GetBytes(new string('x', 1 << 20));
            for (var i = 0; i < 100; i++)
            {
                file.Write(chunk);
            }

            file.Write("\"}\n{\"text\": \"after\"}\n"u8);
        }

        var ingestor = new SourceIngestor(_fx.Blobs, new IngestOptions { TempDir = Path.Combine(_fx.Root, "tmp"), MaxRecordBytes = 4 << 20 },
            TimeProvider.System, NullLogger<SourceIngestor>.Instance);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var result = await ingestor.IngestAsync(IngestFixture.Spec("big", path), "runs/r/s/big", _ => Task.CompletedTask, CancellationToken.None);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < 40L << 20, $"allocated {allocated >> 20} MiB reading a 100 MiB record");
        Assert.Equal(["before", "after"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal(("too_large", 2L), (entry.GetProperty("reason").GetString(), entry.GetProperty("line").GetInt64()));
        Assert.Equal(QuarantineWriterLimit, entry.GetProperty("raw").GetString()!.Length);
        Assert.Equal(3, result.RecordsIn);
    }

    private const int QuarantineWriterLimit = 1024;
}
