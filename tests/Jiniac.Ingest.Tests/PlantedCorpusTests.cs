using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Jiniac.Ingest.Tests;

/// <summary>
/// A two-source stage made here, with planted exact and near duplicates (within a source and across
/// the stage), PII, boilerplate, and broken files of every kind: it must come out clean, and the
/// report must account for every record: in = out + dropped by rule + duplicates + near duplicates + quarantined.
/// </summary>
public sealed class PlantedCorpusTests : IDisposable
{
    private readonly IngestFixture _fx = new();
    private readonly Random _random = new(2026);

    public void Dispose() => _fx.Dispose();

    private static string Line(string id, string text) => JsonSerializer.Serialize(new { id, text }) + "\n";

    private string Word() => new([.. Enumerable.Range(0, _random.Next(3, 9)).Select(_ => (char)('a' + _random.Next(26)))]);

    private string English()
    {
        var sb = new StringBuilder();
        for (var s = 0; s < 10; s++)
        {
            var words = Enumerable.Range(0, _random.Next(8, 15)).Select(_ => Word()).ToArray();
            words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
            sb.Append(sb.Length == 0 ? "" : " ").AppendJoin(' ', words).Append('.');
        }

        return sb.ToString();
    }

    private const string Kanji = "日本語文書研究開発技術情報処理機械学習言語模型計算資源時間空間世界歴史文化社会経済政治科学数学物理化学生物地理音楽美術体育国際交流環境問題健康医療教育制度";
    private static readonly string[] Particles = ["は", "が", "を", "に", "で", "と", "の", "も"];
    private static readonly string[] Verbs = ["します", "しました", "あります", "なります", "考えます", "進めました", "示します", "調べました"];

    private string Japanese()
    {
        var sb = new StringBuilder();
        for (var s = 0; s < 8; s++)
        {
            for (var w = 0; w < 5; w++)
            {
                sb.Append(Kanji[_random.Next(Kanji.Length)]).Append(Kanji[_random.Next(Kanji.Length)]).Append(Particles[_random.Next(Particles.Length)]);
            }

            sb.Append(Verbs[_random.Next(Verbs.Length)]).Append('。');
        }

        return sb.ToString();
    }

    private static string Edit(string text)
    {
        var i = text.IndexOf(' ', text.Length / 2);
        return i < 0 ? text[..(text.Length / 2)] + "改" + text[(text.Length / 2 + 1)..] : text[..i] + " edited" + text[text.IndexOf(' ', i + 1)..];
    }

    [Fact]
    public async Task The_planted_corpus_comes_out_clean_and_every_record_is_accounted_for()
    {
        var web = Path.Combine(_fx.Input, "web");
        var english = Enumerable.Range(0, 30).Select(_ => English()).ToArray();
        var japanese = Enumerable.Range(0, 12).Select(_ => Japanese()).ToArray();
        var expected = new List<string>(); // ids that must come out

        // docs.jsonl: 30 good, 3 exact and 3 near duplicates of earlier lines, 2 PII documents, a broken line and an invalid UTF-8 line.
        var docs = new MemoryStream();
        void Add(string text) => docs.Write(Encoding.UTF8.GetBytes(text));
        var lineNo = 0;
        foreach (var text in english)
        {
            Add(Line($"en-{++lineNo}", text));
            expected.Add($"web:docs.jsonl:{lineNo}");
        }

        Add(Line("dup-1", english[0])); Add(Line("dup-2", english[1])); Add(Line("dup-3", english[2]));             // lines 31-33
        Add(Line("near-1", Edit(english[3]))); Add(Line("near-2", Edit(english[4]))); Add(Line("near-3", Edit(english[5]))); // 34-36
        Add(Line("pii-en", english[6][..200] + " Contact john.smith@example.com or call +1 415 555 2671, card 4111 1111 1111 1111, server 93.184.216.34.")); // 37
        Add(Line("pii-ja", japanese[0][..60] + "連絡先は 090-1234-5678、マイナンバーは 1234 5678 9018 です。" + japanese[1][..40]));           // 38
        expected.Add("web:docs.jsonl:37");
        expected.Add("web:docs.jsonl:38");
        Add("{\"id\": \"broken\", \"text\": \"cut in\n");                                                                  // 39
        docs.Write([.. Encoding.UTF8.GetBytes("{\"id\": \"bad-utf8\", \"text\": \"caf"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}\n")]); // 40
        _fx.Write("web/docs.jsonl", docs.ToArray());

        // ja.jsonl.gz: 10 Japanese documents and one near duplicate of the first.
        var ja = new StringBuilder();
        for (var i = 2; i < 12; i++)
        {
            ja.Append(Line($"ja-{i}", japanese[i]));
            expected.Add($"web:ja.jsonl.gz:{i - 1}");
        }

        ja.Append(Line("ja-near", Edit(japanese[2])));
        using (var gz = new MemoryStream())
        {
            using (var z = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
            {
                z.Write(Encoding.UTF8.GetBytes(ja.ToString()));
            }

            _fx.Write("web/ja.jsonl.gz", gz.ToArray());
        }

        // cut.jsonl.zst: 300 documents (several zstd blocks), then the file is cut inside the frame.
        var zst = new StringBuilder();
        var zstTexts = Enumerable.Range(0, 300).Select(_ => English()).ToArray();
        foreach (var text in zstTexts)
        {
            zst.Append(Line("zst", text));
        }

        var compressed = new ZstdSharp.Compressor(3).Wrap(Encoding.UTF8.GetBytes(zst.ToString())).ToArray();
        var cut = _fx.Write("web/cut.jsonl.zst", compressed[..(compressed.Length * 2 / 3)]);

        // table.parquet: 4 documents and a null.
        var parquetTexts = Enumerable.Range(0, 4).Select(_ => English()).ToArray();
        var parquetPath = Path.Combine(web, "table.parquet");
        var field = new DataField("text", typeof(string), true, false, null);
        await using (var file = File.Create(parquetPath))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), file))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(field, (IReadOnlyCollection<string>)[.. parquetTexts, null!]);
        }

        expected.AddRange(Enumerable.Range(1, 4).Select(r => $"web:table.parquet:{r}"));

        // HTML pages with navigation, a breadcrumb, a cookie banner and a copyright line around the body.
        for (var p = 0; p < 3; p++)
        {
            _fx.Write($"web/pages/p{p}.html", $"""
                <html><head><title>t</title></head><body>
                <nav><a href="/">Home</a> | <a href="/a">Products</a> | <a href="/b">Support</a></nav>
                <div>ホーム &gt; ヘルプ &gt; ページ {p}</div>
                <div class="notice">This site uses cookies to improve your experience. Accept</div>
                <main><p>{English()}</p><p>{japanese[p + 3][..80]}</p></main>
                <div>© 2026 Example Corp. All rights reserved.</div>
                </body></html>
                """);
            expected.Add($"web:pages/p{p}.html");
        }

        // A Markdown page whose code must not be redacted, an empty file and a binary one.
        _fx.Write("web/notes/code.md", $"{English()}\n\n```\nping 8.8.8.8\n```\n");
        expected.Add("web:notes/code.md");
        var empty = _fx.Write("web/notes/empty.txt", "");
        var binary = _fx.Write("web/notes/logo.txt", [0x89, 0x50, 0x4E, 0x47, 0x00, 0x00, 0x00, 0x0D]);

        // The second source of the stage repeats one document of the first exactly and one nearly.
        var mirror = _fx.Write("mirror/m.jsonl", Line("m1", english[7]) + Line("m2", Edit(english[8])) + Line("m3", English()) + Line("m4", English()));
        expected.Add("mirror:m.jsonl:3");
        expected.Add("mirror:m.jsonl:4");

        var (first, _) = await _fx.IngestAsync(IngestFixture.Spec("web", web), "runs/r/s/ingest/web");
        var second = await _fx.Ingestor.IngestAsync(IngestFixture.Spec("mirror", mirror), "runs/r/s/ingest/mirror", [first.DedupIndexBlob!],
            _ => Task.CompletedTask, CancellationToken.None);

        // Every record is accounted for, in each source's report.
        foreach (var result in new[] { first, second })
        {
            using var report = JsonDocument.Parse(await _fx.ReadBlobAsync(result.ReportBlob));
            var r = report.RootElement;
            var dropped = r.GetProperty("dropped").EnumerateObject().Sum(p => p.Value.GetInt64());
            Assert.Equal(r.GetProperty("recordsIn").GetInt64(),
                r.GetProperty("recordsOut").GetInt64() + dropped + r.GetProperty("duplicates").GetInt64() + r.GetProperty("nearDuplicates").GetInt64() + r.GetProperty("quarantinedRecords").GetInt64());
        }

        // The records read are the ones planted: 40 + 11 + the zstd lines before the cut + 5 rows + 3 pages + 3 documents
        // (code.md, empty.txt, logo.txt: a document file is a record even when it is empty or binary).
        var zstKept = first.RecordsIn - 40 - 11 - 5 - 3 - 3;
        Assert.InRange(zstKept, 1, 299);
        expected.AddRange(Enumerable.Range(1, (int)zstKept).Select(l => $"web:cut.jsonl.zst:{l}"));
        Assert.Equal((3L, 4L), (first.Duplicates, first.NearDuplicates));
        Assert.Equal((1L, 1L), (second.Duplicates, second.NearDuplicates));
        Assert.Empty(first.Dropped);
        Assert.Equal(5, first.QuarantinedRecords); // the broken line, the invalid UTF-8 line, the null row, the empty and the binary document
        Assert.Equal(new Dictionary<string, long>
        {
            ["binary_file"] = 1, ["empty_file"] = 1, ["field_not_string"] = 1, ["invalid_json"] = 1, ["invalid_utf8"] = 1, ["truncated_zstd"] = 1,
        }, first.QuarantineReasons);
        var entries = await _fx.QuarantineAsync(first.QuarantineBlob!);
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "invalid_json" && e.GetProperty("line").GetInt64() == 39 && e.GetProperty("file").GetString()!.EndsWith("docs.jsonl", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "invalid_utf8" && e.GetProperty("line").GetInt64() == 40);
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "truncated_zstd" && e.GetProperty("file").GetString() == cut && e.GetProperty("line").GetInt64() == zstKept);
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "field_not_string" && e.GetProperty("line").GetInt64() == 5);
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "empty_file" && e.GetProperty("file").GetString() == empty);
        Assert.Contains(entries, e => e.GetProperty("reason").GetString() == "binary_file" && e.GetProperty("file").GetString() == binary);

        // What came out is exactly the planted good documents, clean.
        var output = (await _fx.DocumentsAsync(first.Shards)).Concat(await _fx.DocumentsAsync(second.Shards)).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), output.Select(d => d.Id).Order(StringComparer.Ordinal));
        var all = string.Join('\n', output.Select(d => d.Text));
        foreach (var pii in new[] { "john.smith@example.com", "415 555 2671", "4111 1111 1111 1111", "93.184.216.34", "090-1234-5678", "1234 5678 9018" })
        {
            Assert.DoesNotContain(pii, all);
        }

        Assert.Equal(new Dictionary<string, long> { ["card"] = 1, ["email"] = 1, ["ip"] = 1, ["mynumber"] = 1, ["phone"] = 2 }, first.PiiHits);
        foreach (var token in new[] { "<EMAIL>", "<PHONE>", "<CARD>", "<IP>", "<MYNUMBER>" })
        {
            Assert.Contains(token, all);
        }

        Assert.Contains("ping 8.8.8.8", all); // code is not redacted
        foreach (var boilerplate in new[] { "cookies", "ホーム > ヘルプ", "All rights reserved", "Products | Support" })
        {
            Assert.DoesNotContain(boilerplate, all);
        }
    }
}
