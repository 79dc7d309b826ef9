using System.Text.Json;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Ingest.Tests.Dedup;

/// <summary>Exact and near dedup across the sources of a stage, through the stored dedup indexes.</summary>
public sealed class StageDedupTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    private static string Essay(int seed, int words)
    {
        // Random letter words: prose-like for every rule (no digits, no repetition).
        var random = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => new string([.. Enumerable.Range(0, random.Next(3, 8)).Select(_ => (char)('a' + random.Next(26)))])));
    }

    private static string Edit(string text)
    {
        var words = text.Split(' ');
        words[words.Length / 2] = "edited";
        return string.Join(' ', words);
    }

    [Fact]
    public async Task A_later_source_drops_what_an_earlier_source_of_the_stage_kept()
    {
        var a1 = Essay(1, 300);
        var a2 = Essay(2, 300);
        var first = _fx.Write("a.jsonl", Line(a1) + Line(a2) + Line(Edit(a2)));
        var second = _fx.Write("b.jsonl", Line(a1) + Line(Edit(a1)) + Line(Essay(3, 300)));

        var (ra, _) = await _fx.IngestAsync(IngestFixture.Spec("a", first), "runs/r/s/ingest/a");
        var rb = await _fx.Ingestor.IngestAsync(IngestFixture.Spec("b", second), "runs/r/s/ingest/b", [ra.DedupIndexBlob!], _ => Task.CompletedTask, CancellationToken.None);

        Assert.Equal((2L, 0L, 1L), (ra.RecordsOut, ra.Duplicates, ra.NearDuplicates)); // within a source
        Assert.Equal((1L, 1L, 1L), (rb.RecordsOut, rb.Duplicates, rb.NearDuplicates)); // across the stage
        Assert.Equal(["b:b.jsonl:3"], (await _fx.DocumentsAsync(rb.Shards)).Select(d => d.Id));

        // Without the earlier index the same source keeps its own first copies: the index is what makes it stage-wide.
        var alone = await _fx.Ingestor.IngestAsync(IngestFixture.Spec("b", second), "runs/r/s/ingest/b-alone", [], _ => Task.CompletedTask, CancellationToken.None);
        Assert.Equal((2L, 0L, 1L), (alone.RecordsOut, alone.Duplicates, alone.NearDuplicates));
    }

    [Fact]
    public async Task Re_running_a_source_against_the_same_indexes_gives_the_same_bytes()
    {
        var first = _fx.Write("a.jsonl", Line(Essay(1, 200)) + Line(Essay(2, 200)));
        var second = _fx.Write("b.jsonl", Line(Edit(Essay(1, 200))) + Line(Essay(4, 200)) + Line(Essay(5, 200)));
        var (ra, _) = await _fx.IngestAsync(IngestFixture.Spec("a", first), "runs/r/s/ingest/a");

        var once = await _fx.Ingestor.IngestAsync(IngestFixture.Spec("b", second), "runs/r/s/ingest/b", [ra.DedupIndexBlob!], _ => Task.CompletedTask, CancellationToken.None);
        var report = await _fx.ReadBlobAsync(once.ReportBlob);
        var index = await _fx.ReadBlobAsync(once.DedupIndexBlob!);
        var twice = await _fx.Ingestor.IngestAsync(IngestFixture.Spec("b", second), "runs/r/s/ingest/b", [ra.DedupIndexBlob!], _ => Task.CompletedTask, CancellationToken.None);

        Assert.Equal(once.Shards, twice.Shards);
        Assert.Equal(report, await _fx.ReadBlobAsync(twice.ReportBlob));
        Assert.Equal(index, await _fx.ReadBlobAsync(twice.DedupIndexBlob!));
        Assert.Equal(1, twice.NearDuplicates);
    }

    [Fact]
    public async Task A_missing_earlier_index_makes_the_source_unreadable_rather_than_silently_not_deduplicated()
    {
        var path = _fx.Write("a.jsonl", Line("text"));

        var e = await Assert.ThrowsAsync<SourceUnreadableException>(() =>
            _fx.Ingestor.IngestAsync(IngestFixture.Spec("a", path), "runs/r/s/ingest/b", ["runs/r/s/ingest/a/dedup.bin"], _ => Task.CompletedTask, CancellationToken.None));
        Assert.Contains("runs/r/s/ingest/a/dedup.bin", e.Message);
    }

    [Fact]
    public async Task Out_of_range_settings_are_refused_before_anything_is_read()
    {
        var path = _fx.Write("a.jsonl", Line("text"));

        await Assert.ThrowsAsync<ArgumentException>(() => _fx.IngestAsync(IngestFixture.Spec("a", path) with { Dedup = new DedupSpec { Shingle = 0 } }));
        await Assert.ThrowsAsync<ArgumentException>(() => _fx.IngestAsync(IngestFixture.Spec("a", path) with { Cleaning = new CleaningSpec { MaxDigitRatio = 2 } }));
    }

    [Fact]
    public async Task Dedup_rules_can_be_turned_off_per_source()
    {
        var text = Essay(1, 200);
        var path = _fx.Write("a.jsonl", Line(text) + Line(text) + Line(Edit(text)));

        var (off, _) = await _fx.IngestAsync(IngestFixture.Spec("a", path) with { Dedup = new DedupSpec { Exact = false, Near = false } });

        Assert.Equal((3L, 0L, 0L), (off.RecordsOut, off.Duplicates, off.NearDuplicates));
    }
}
