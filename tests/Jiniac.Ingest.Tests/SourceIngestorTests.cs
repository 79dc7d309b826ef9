using System.Text;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Ingest.Output;

namespace Jiniac.Ingest.Tests;

public sealed class SourceIngestorTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    [Fact]
    public async Task Jsonl_documents_are_cleaned_and_written_to_a_shard()
    {
        var path = _fx.Write("a.jsonl", Line("ＡＢＣ１２３ hello  \r\nworld") + "\n   \n" + JsonSerializer.Serialize(new { id = 7, meta = new { x = new[] { 1, 2 } }, text = "second ｶﾀｶﾅ" }) + "\n");

        var (result, seen) = await _fx.IngestAsync(IngestFixture.Spec("web", path));

        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal([("web:a.jsonl:1", "ABC123 hello\nworld", "train"), ("web:a.jsonl:4", "second カタカナ", "train")], docs);
        Assert.Equal(2, result.RecordsIn);
        Assert.Equal(2, result.RecordsOut);
        Assert.Equal(0, result.Quarantined);
        Assert.Null(result.QuarantineBlob);
        Assert.Equal(result.Shards, seen);
        var shard = Assert.Single(result.Shards);
        var bytes = await _fx.ReadBlobAsync(shard.Blob);
        Assert.Equal($"shards/{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))}.jsonl", shard.Blob);
        Assert.Equal(shard.Blob, $"shards/{shard.ShardKey}.jsonl");
        Assert.Equal(Encoding.UTF8.GetByteCount("ABC123 hello\nworld") + Encoding.UTF8.GetByteCount("second カタカナ"), shard.TextBytes);
        Assert.Equal(2, shard.Records);
        Assert.Equal(bytes.Length, result.BytesOut);
        Assert.Equal("{\"id\":\"web:a.jsonl:1\",\"text\":\"ABC123 hello\\nworld\"}\n", Encoding.UTF8.GetString(bytes).Split('\n')[0] + "\n");
    }

    [Fact]
    public async Task Bad_lines_are_quarantined_with_file_line_and_reason_and_the_run_goes_on()
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes(Line("good one")));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\": \"cut in ha\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"txt\": \"misspelt field\"}\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\": 42}\n"));
        bytes.AddRange([.. Encoding.UTF8.GetBytes("{\"text\": \"bad "), 0xC3, 0x28, .. Encoding.UTF8.GetBytes(" byte\"}\n")]);
        bytes.AddRange(Encoding.UTF8.GetBytes("[\"an array\"]\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\": \"trailing\"} junk\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes(Line("good two")));
        var path = _fx.Write("bad.jsonl", bytes.ToArray());

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("web", path));

        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal(["good one", "good two"], docs.Select(d => d.Text));
        Assert.Equal(8, result.RecordsIn);
        Assert.Equal(6, result.Quarantined);
        Assert.Equal(new Dictionary<string, long>
        {
            ["field_not_string"] = 1, ["invalid_json"] = 2, ["invalid_utf8"] = 1, ["missing_field"] = 1, ["not_an_object"] = 1,
        }, result.QuarantineReasons);

        Assert.Equal("runs/r1/stage1/src/quarantine.jsonl", result.QuarantineBlob);
        var entries = await _fx.QuarantineAsync(result.QuarantineBlob!);
        Assert.Equal(
            [(2L, "invalid_json"), (3L, "missing_field"), (4L, "field_not_string"), (5L, "invalid_utf8"), (6L, "not_an_object"), (7L, "invalid_json")],
            entries.Select(e => (e.GetProperty("line").GetInt64(), e.GetProperty("reason").GetString()!)));
        Assert.All(entries, e => Assert.Equal(path, e.GetProperty("file").GetString()));
        Assert.Equal("{\"text\": \"cut in ha", entries[0].GetProperty("raw").GetString());
        Assert.Equal("{\"txt\": \"misspelt field\"}", entries[1].GetProperty("raw").GetString());
    }

    [Fact]
    public async Task Quarantined_raw_record_is_cut_to_one_kilobyte()
    {
        var path = _fx.Write("long.jsonl", "{\"text\": \"" + new string('x', 5000) + "\n");

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path));

        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal(QuarantineWriter.RawPrefixBytes, entry.GetProperty("raw").GetString()!.Length);
    }

    [Fact]
    public async Task Records_over_the_size_limit_are_quarantined_without_being_held_in_memory()
    {
        var ingestor = new SourceIngestor(_fx.Blobs, new IngestOptions { TempDir = Path.Combine(_fx.Root, "tmp"), MaxRecordBytes = 2048 },
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<SourceIngestor>.Instance);
        var jsonl = _fx.Write("big.jsonl", Line("before") + Line(new string('z', 300_000)) + Line("after"));
        var page = _fx.Write("big.txt", new string('w', 5000));

        var result = await ingestor.IngestAsync(IngestFixture.Spec("big", jsonl, page), "p", _ => Task.CompletedTask, CancellationToken.None);

        Assert.Equal(["before", "after"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
        var entries = await _fx.QuarantineAsync(result.QuarantineBlob!);
        Assert.Equal([(jsonl, 2L, "too_large"), (page, 0L, "too_large")],
            entries.Select(e => (e.GetProperty("file").GetString()!, e.GetProperty("line").GetInt64(), e.GetProperty("reason").GetString()!)));
        Assert.Equal("{\"text\":\"" + new string('z', QuarantineWriter.RawPrefixBytes - 9), entries[0].GetProperty("raw").GetString());
    }

    [Fact]
    public async Task Gzipped_jsonl_is_read()
    {
        var content = string.Concat(Enumerable.Range(0, 500).Select(i => Line($"document number {i}")));
        var path = _fx.WriteGzip("data.jsonl.gz", content);

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("gz", path));

        Assert.Equal(500, result.RecordsOut);
        Assert.Equal(0, result.Quarantined);
        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal("gz:data.jsonl.gz:500", docs[^1].Id);
    }

    [Fact]
    public async Task Truncated_gzip_is_quarantined_with_the_last_good_line_and_what_was_read_is_kept()
    {
        // Incompressible-ish lines, so that cutting the tail loses whole lines.
        var random = new Random(7);
        var lines = Enumerable.Range(0, 2000).Select(i => Line($"doc {i} " + Convert.ToHexString(BitConverter.GetBytes(random.NextInt64())))).ToArray();
        var truncated = _fx.WriteGzip("cut.jsonl.gz", string.Concat(lines), truncateBy: 3000);
        var after = _fx.Write("later.jsonl", Line("the run goes on"));

        // Mostly hex digits: the digit-share rule would drop these, and it is not what this test is about.
        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("gz", truncated, after) with { Cleaning = new CleaningSpec { MaxDigitRatio = 1 } });

        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal("truncated_gzip", entry.GetProperty("reason").GetString());
        Assert.Equal(truncated, entry.GetProperty("file").GetString());
        var lastGood = entry.GetProperty("line").GetInt64();
        Assert.InRange(lastGood, 1000, 1999);
        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal(lastGood + 1, docs.Count);
        Assert.Equal($"gz:cut.jsonl.gz:{lastGood}", docs[^2].Id);
        Assert.Equal("the run goes on", docs[^1].Text);
        Assert.Equal(new Dictionary<string, long> { ["truncated_gzip"] = 1 }, result.QuarantineReasons);
    }

    [Fact]
    public async Task A_file_that_is_not_gzip_is_quarantined_and_the_run_goes_on()
    {
        var bad = _fx.Write("a.jsonl.gz", "this is not gzip\n");
        var good = _fx.Write("b.jsonl", Line("fine"));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("s", bad, good));

        Assert.Equal("corrupt_gzip", Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!)).GetProperty("reason").GetString());
        Assert.Equal(1, result.RecordsOut);
    }

    [Fact]
    public async Task Folder_trees_of_text_markdown_and_html_give_one_document_per_file()
    {
        _fx.Write("tree/b/page.html", "<html><head><title>t</title></head><body><nav>Menu</nav><p>HTML body text</p></body></html>");
        _fx.Write("tree/a.txt", "plain text\r\nfile");
        _fx.Write("tree/c/notes.md", "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        _fx.Write("tree/skip.bin", "ignored");
        _fx.Write("tree/.hidden.txt", "ignored too");
        _fx.Write("tree/z.htm", "<p>second page</p>");

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("docs", Path.Combine(_fx.Input, "tree")));

        var docs = await _fx.DocumentsAsync(result.Shards);
        Assert.Equal(
            [("docs:a.txt", "plain text\nfile"), ("docs:b/page.html", "HTML body text"), ("docs:c/notes.md", "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |"), ("docs:z.htm", "second page")],
            docs.Select(d => (d.Id, d.Text)));
        Assert.Equal(4, result.Files);
    }

    [Fact]
    public async Task Html_in_a_legacy_charset_is_decoded_and_invalid_utf8_text_is_quarantined()
    {
        var sjis = System.Text.CodePagesEncodingProvider.Instance.GetEncoding("shift_jis")!;
        _fx.Write("t/sjis.html", sjis.GetBytes("<html><head><meta charset=\"Shift_JIS\"></head><body><p>日本語のページです</p></body></html>"));
        _fx.Write("t/bad.txt", [.. Encoding.UTF8.GetBytes("line one\nline two "), 0xFF, 0x0A]);

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("t", Path.Combine(_fx.Input, "t")));

        Assert.Equal(["日本語のページです"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
        var entry = Assert.Single(await _fx.QuarantineAsync(result.QuarantineBlob!));
        Assert.Equal("invalid_utf8", entry.GetProperty("reason").GetString());
        Assert.Equal(2, entry.GetProperty("line").GetInt64());
    }

    [Fact]
    public async Task Globs_select_files_in_ordinal_order()
    {
        _fx.Write("g/x/2.jsonl", Line("two"));
        _fx.Write("g/x/10.jsonl", Line("ten"));
        _fx.Write("g/y/deep/1.jsonl", Line("deep one"));
        _fx.Write("g/y/1.txt", "not matched");

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("g", Path.Combine(_fx.Input, "g", "**", "*.jsonl")));
        Assert.Equal(["g:x/10.jsonl:1", "g:x/2.jsonl:1", "g:y/deep/1.jsonl:1"], (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Id));

        var (single, _) = await _fx.IngestAsync(IngestFixture.Spec("g", Path.Combine(_fx.Input, "g", "x", "?.jsonl")), "p2");
        Assert.Equal(["two"], (await _fx.DocumentsAsync(single.Shards)).Select(d => d.Text));
    }

    [Fact]
    public async Task Missing_paths_and_empty_matches_make_the_source_unreadable()
    {
        await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(IngestFixture.Spec("s", Path.Combine(_fx.Input, "nope.jsonl"))));
        await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(IngestFixture.Spec("s", Path.Combine(_fx.Input, "*.jsonl"))));
        await Assert.ThrowsAsync<SourceUnreadableException>(() => _fx.IngestAsync(IngestFixture.Spec("s", "relative/path.jsonl")));
        await Assert.ThrowsAsync<ArgumentException>(() => _fx.IngestAsync(IngestFixture.Spec("s", _fx.Write("a.jsonl", Line("x"))), "../escape"));
    }

    [Fact]
    public async Task Exact_duplicates_after_cleaning_are_dropped_keeping_the_first_and_short_documents_are_counted()
    {
        var path = _fx.Write("d.jsonl", Line("same text here") + Line("ｓａｍｅ text here  ") + Line("other text") + Line("tiny") + Line("  \n ") + Line("same text here"));
        var spec = IngestFixture.Spec("d", path) with { MinChars = 5 };

        var (result, _) = await _fx.IngestAsync(spec);

        Assert.Equal([("d:d.jsonl:1", "same text here"), ("d:d.jsonl:3", "other text")], (await _fx.DocumentsAsync(result.Shards)).Select(d => (d.Id, d.Text)));
        Assert.Equal(2, result.Duplicates);
        Assert.Equal(new Dictionary<string, long> { ["empty"] = 1, ["too_short"] = 1 }, result.Dropped);
        Assert.Equal(6, result.RecordsIn);
        Assert.Equal(0, result.Quarantined);
    }

    [Fact]
    public async Task Eval_split_follows_the_hash_rule_and_is_stable()
    {
        var texts = Enumerable.Range(0, 400).Select(i => $"document {i} with some words").ToArray();
        var path = _fx.Write("e.jsonl", string.Concat(texts.Select(Line)));
        var spec = IngestFixture.Spec("e", path) with { EvalFraction = 0.25 };

        var (first, _) = await _fx.IngestAsync(spec);
        var docs = await _fx.DocumentsAsync(first.Shards);

        foreach (var (_, text, split) in docs)
        {
            var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text));
            var expectEval = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0 < 0.25;
            Assert.Equal(expectEval ? SplitNames.Eval : SplitNames.Train, split);
        }

        Assert.InRange(first.EvalRecords, 60, 140);
        Assert.Equal(400, first.TrainRecords + first.EvalRecords);

        var (second, _) = await _fx.IngestAsync(spec with { Paths = [_fx.Write("copy/e.jsonl", string.Concat(texts.Reverse().Select(Line)))] }, "p2");
        var evalFirst = docs.Where(d => d.Split == SplitNames.Eval).Select(d => d.Text).Order(StringComparer.Ordinal);
        var evalSecond = (await _fx.DocumentsAsync(second.Shards)).Where(d => d.Split == SplitNames.Eval).Select(d => d.Text).Order(StringComparer.Ordinal);
        Assert.Equal(evalFirst, evalSecond);
    }

    [Fact]
    public async Task A_small_source_still_gets_one_eval_and_one_train_document()
    {
        var path = _fx.Write("s.jsonl", Line("alpha document") + Line("beta document") + Line("gamma document"));

        var (tiny, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path) with { EvalFraction = 1e-9 });
        var docs = await _fx.DocumentsAsync(tiny.Shards);
        Assert.Equal(1, tiny.EvalRecords);
        Assert.Equal(2, tiny.TrainRecords);
        // The held-out one is the document with the smallest hash.
        var smallest = docs.MinBy(d => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(d.Text))))!;
        Assert.Equal(SplitNames.Eval, smallest.Split);

        var (all, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path) with { EvalFraction = 1.0 }, "p2");
        Assert.Equal(1, all.TrainRecords);
        Assert.Equal(2, all.EvalRecords);

        var (single, _) = await _fx.IngestAsync(IngestFixture.Spec("s", _fx.Write("one.jsonl", Line("only document"))) with { EvalFraction = 0.5 }, "p3");
        Assert.Equal(1, single.TrainRecords);
        Assert.Equal(0, single.EvalRecords);

        var (none, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path) with { EvalFraction = 0 }, "p4");
        Assert.Equal(0, none.EvalRecords);
    }

    [Fact]
    public async Task Shards_stay_within_the_size_bound_and_an_oversized_document_gets_its_own()
    {
        var lines = Enumerable.Range(0, 300).Select(i => Line($"record {i:D4} " + new string('x', 80))).ToList();
        lines.Insert(150, Line(new string('y', 5000)));
        var path = _fx.Write("s.jsonl", string.Concat(lines));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path) with { ShardBytes = 1000 });

        Assert.Equal(301, result.RecordsOut);
        var oversized = 0;
        foreach (var shard in result.Shards)
        {
            var length = (await _fx.ReadBlobAsync(shard.Blob)).Length;
            if (length > 1000)
            {
                oversized++;
                Assert.Equal(1, shard.Records);
            }
            else
            {
                Assert.True(shard.Records > 1);
            }
        }

        Assert.Equal(1, oversized);
        Assert.Equal(301, result.Shards.Sum(s => s.Records));
        Assert.True(result.Shards.Count > 30);
    }

    [Fact]
    public async Task The_same_input_gives_the_same_shards_report_and_quarantine()
    {
        var path = _fx.Write("a.jsonl", string.Concat(Enumerable.Range(0, 200).Select(i => Line($"text {i} ＡＢＣ"))) + "{broken\n");
        var spec = IngestFixture.Spec("a", path) with { EvalFraction = 0.1, ShardBytes = 2000 };

        var (first, seenFirst) = await _fx.IngestAsync(spec);
        var report = await _fx.ReadBlobAsync(first.ReportBlob);
        var quarantine = await _fx.ReadBlobAsync(first.QuarantineBlob!);
        var (second, seenSecond) = await _fx.IngestAsync(spec);

        Assert.Equal(seenFirst, seenSecond);
        Assert.Equal(first.Shards, second.Shards);
        Assert.Equal(report, await _fx.ReadBlobAsync(second.ReportBlob));
        Assert.Equal(quarantine, await _fx.ReadBlobAsync(second.QuarantineBlob!));
        Assert.Empty(Directory.GetFiles(Path.Combine(_fx.Root, "tmp")));
    }

    [Fact]
    public async Task The_report_has_the_counts_and_the_shard_list()
    {
        var path = _fx.Write("r.jsonl", Line("kept document one") + Line("kept document one") + Line("x") + "{\"no\":1}\n" + Line("kept document two"));

        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("r", path) with { MinChars = 3, EvalFraction = 0.5 });

        using var report = JsonDocument.Parse(await _fx.ReadBlobAsync("runs/r1/stage1/src/report.json"));
        var root = report.RootElement;
        Assert.Equal("r", root.GetProperty("source").GetString());
        Assert.Equal(5, root.GetProperty("recordsIn").GetInt64());
        Assert.Equal(2, root.GetProperty("recordsOut").GetInt64());
        Assert.Equal(1, root.GetProperty("duplicates").GetInt64());
        Assert.Equal(1, root.GetProperty("dropped").GetProperty("too_short").GetInt64());
        Assert.Equal(1, root.GetProperty("quarantinedByReason").GetProperty("missing_field").GetInt64());
        Assert.Equal(new FileInfo(path).Length, root.GetProperty("bytesIn").GetInt64());
        Assert.Equal(result.BytesOut, root.GetProperty("bytesOut").GetInt64());
        Assert.Equal(1, root.GetProperty("train").GetProperty("records").GetInt64());
        Assert.Equal(1, root.GetProperty("eval").GetProperty("records").GetInt64());
        var shards = root.GetProperty("shards").EnumerateArray().Select(s => (s.GetProperty("key").GetString()!, s.GetProperty("split").GetString()!)).ToList();
        Assert.Equal(result.Shards.Select(s => (s.ShardKey, s.Split)), shards);
        Assert.Equal(["eval", "train"], shards.Select(s => s.Item2).Order(StringComparer.Ordinal));
    }
}
