using System.Text;
using System.Text.Json;
using Jiniac.Contracts.Pipeline;
using Parquet;
using Parquet.Schema;

namespace Jiniac.Ingest.Tests;

/// <summary>jsonl.zst and parquet sources, and files that are not what they claim (empty, binary, truncated).</summary>
public sealed class SourceFormatsTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    private static string Lines(int count, string prefix) =>
        string.Concat(Enumerable.Range(0, count).Select(i => Line($"{prefix} {i}: {Convert.ToHexString(BitConverter.GetBytes(i * 7919L))} the text of this line")));

    private string WriteZstd(string name, string content, int truncateBy = 0)
    {
        var bytes = new ZstdSharp.Compressor(3).Wrap(Encoding.UTF8.GetBytes(content)).ToArray();
        return _fx.Write(name, bytes[..(bytes.Length - truncateBy)]);
    }

    private static SourceSpec Spec(string name, params string[] paths) =>
        IngestFixture.Spec(name, paths) with { Cleaning = new CleaningSpec { MaxDigitRatio = 1, Repetition = false }, Dedup = new DedupSpec { Near = false } };

    [Fact]
    public async Task Jsonl_zst_is_read_line_by_line()
    {
        var path = WriteZstd("a.jsonl.zst", Line("zstd first") + Line("ｚｓｔｄ second"));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("z", path));

        Assert.Equal([("z:a.jsonl.zst:1", "zstd first"), ("z:a.jsonl.zst:2", "zstd second")], (await _fx.DocumentsAsync(result.Shards)).Select(d => (d.Id, d.Text)));
        Assert.Equal(0, result.Quarantined);
    }

    [Fact]
    public async Task Truncated_zstd_is_quarantined_with_the_last_good_line_and_the_run_goes_on()
    {
        var truncated = WriteZstd("cut.jsonl.zst", Lines(3000, "doc"), truncateBy: 2000);
        var after = _fx.Write("later.jsonl", Line("the run goes on"));

        var (result, _) = await _fx.IngestAsync(Spec("z", truncated, after));

        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal(("truncated_zstd", truncated), (entry.GetProperty("reason").GetString(), entry.GetProperty("file").GetString()));
        var lastGood = entry.GetProperty("line").GetInt64();
        Assert.InRange(lastGood, 1, 2999);
        Assert.Contains($"lines up to {lastGood} kept", entry.GetProperty("detail").GetString());
        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal(lastGood + 1, docs.Count);
        Assert.Equal($"z:cut.jsonl.zst:{lastGood}", docs[^2].Id);
        Assert.Equal("the run goes on", docs[^1].Text);
    }

    [Fact]
    public async Task Corrupt_zstd_is_quarantined()
    {
        var bad = _fx.Write("bad.jsonl.zst", "this is not zstd at all\n");
        var good = _fx.Write("good.jsonl", Line("fine"));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("z", bad, good));

        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal(("corrupt_zstd", bad), (entry.GetProperty("reason").GetString(), entry.GetProperty("file").GetString()));
        Assert.Equal(["fine"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
    }

    private async Task<string> WriteParquetAsync(string name, params string?[][] rowGroups)
    {
        var path = Path.Combine(_fx.Input, name);
        var id = new DataField<int>("id");
        var content = new DataField("content", typeof(string), true, false, null);
        var schema = new ParquetSchema(id, content);
        await using (var file = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(schema, file))
        {
            var next = 0;
            foreach (var rows in rowGroups)
            {
                using var group = writer.CreateRowGroup();
                var ids = Enumerable.Range(next, rows.Length).ToArray();
                next += rows.Length;
                await group.WriteAsync(id, (ReadOnlyMemory<int>)ids);
                await group.WriteAsync(content, (IReadOnlyCollection<string>)rows!);
            }
        }

        return path;
    }

    [Fact]
    public async Task Parquet_reads_the_configured_column_one_row_group_at_a_time()
    {
        var path = await WriteParquetAsync("p.parquet", ["first row", "二行目の文章"], ["third row", null]);

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("pq", path) with { TextField = "content" });

        Assert.Equal(3, result.RecordsOut);
        Assert.Equal([("pq:p.parquet:1", "first row"), ("pq:p.parquet:2", "二行目の文章"), ("pq:p.parquet:3", "third row")],
            (await _fx.DocumentsAsync(result.Shards)).Select(d => (d.Id, d.Text)));
        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal(("field_not_string", 4L), (entry.GetProperty("reason").GetString(), entry.GetProperty("line").GetInt64()));
        Assert.Equal(4, result.RecordsIn);
    }

    [Fact]
    public async Task Parquet_without_the_column_or_not_parquet_at_all_is_quarantined()
    {
        var path = await WriteParquetAsync("p.parquet", ["a row"]);
        var broken = _fx.Write("broken.parquet", "PAR1 not really parquet PAR1");

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("pq", path, broken)); // text_field defaults to "text"

        var entries = await _fx.QuarantineAsync(result.QuarantineBlob!);
        Assert.Equal([("missing_field", path), ("invalid_parquet", broken)],
            entries.Select(e => (e.GetProperty("reason").GetString()!, e.GetProperty("file").GetString()!)));
        Assert.Contains("content", entries[0].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Empty_and_binary_files_are_quarantined_once_each_and_the_run_goes_on()
    {
        var empty = _fx.Write("empty.jsonl", "");
        var emptyText = _fx.Write("tree/empty.txt", "");
        var binary = _fx.Write("blob.jsonl", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0x0A, 0x00, 0xFF, 0x0A, 0x00]);
        var binaryText = _fx.Write("tree/image.txt", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]);
        var good = _fx.Write("good.jsonl", Line("still read"));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("s", empty, binary, Path.Combine(_fx.Input, "tree"), good));

        var entries = await _fx.QuarantineAsync(result.QuarantineBlob!);
        Assert.Equal([("empty_file", empty, 0L), ("binary_file", binary, 1L), ("empty_file", emptyText, 0L), ("binary_file", binaryText, 0L)],
            entries.Select(e => (e.GetProperty("reason").GetString()!, e.GetProperty("file").GetString()!, e.GetProperty("line").GetInt64())));
        Assert.Equal(["still read"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
    }
}
