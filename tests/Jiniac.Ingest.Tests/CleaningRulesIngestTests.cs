using System.Text.Json;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Ingest.Tests;

/// <summary>Each cleaning rule as a source applies it: configurable per source, counted in the result and the report.</summary>
public sealed class CleaningRulesIngestTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    private const string English = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse.";
    private const string Japanese = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。";

    private async Task<IngestResult> IngestAsync(CleaningSpec cleaning, params string[] texts)
    {
        var path = _fx.Write($"{Guid.NewGuid():N}.jsonl", string.Concat(texts.Select(Line)));
        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("s", path) with { Cleaning = cleaning });
        return result;
    }

    [Fact]
    public async Task Length_bounds_drop_and_count()
    {
        var result = await IngestAsync(new CleaningSpec { MaxChars = 60 }, English, Japanese);

        Assert.Equal(new Dictionary<string, long> { ["too_long"] = 1 }, result.Dropped);
        Assert.Equal(1, result.RecordsOut);
    }

    [Fact]
    public async Task Languages_and_japanese_share_filter_by_script()
    {
        var onlyJa = await IngestAsync(new CleaningSpec { Languages = ["ja"] }, English, Japanese, "这是一个中文句子，没有假名。");
        Assert.Equal(new Dictionary<string, long> { ["language"] = 2 }, onlyJa.Dropped);
        Assert.Equal(new Dictionary<string, long> { ["ja"] = 1 }, onlyJa.Languages);

        var share = await IngestAsync(new CleaningSpec { MinJapaneseRatio = 0.5 }, English, Japanese, "LibreOffice Calc の help page です");
        Assert.Equal(new Dictionary<string, long> { ["japanese_ratio"] = 2 }, share.Dropped);

        var all = await IngestAsync(new CleaningSpec(), English, Japanese);
        Assert.Equal(new Dictionary<string, long> { ["en"] = 1, ["ja"] = 1 }, all.Languages);
    }

    [Fact]
    public async Task Symbol_and_digit_shares_drop_and_count_with_defaults()
    {
        var result = await IngestAsync(new CleaningSpec(), English, "#### *** {{{ }}} <<< >>> ### @@@ $$$ %%%", "2024 1234 5678 9012 3456 7890 1111 2222 3333 電話");

        Assert.Equal(new Dictionary<string, long> { ["digit_ratio"] = 1, ["symbol_ratio"] = 1 }, result.Dropped);

        var lax = await IngestAsync(new CleaningSpec { MaxSymbolRatio = 1, MaxDigitRatio = 1 }, "#### *** {{{ }}} <<< >>> ### @@@ $$$ %%%");
        Assert.Empty(lax.Dropped);
    }

    [Fact]
    public async Task Repetition_rules_are_counted_by_their_datatrove_names_and_can_be_turned_off()
    {
        var spam = string.Join('\n', Enumerable.Repeat("Buy now! Limited offer!", 8)) + "\n" + English;

        var on = await IngestAsync(new CleaningSpec(), spam, English + " More words here.");
        var off = await IngestAsync(new CleaningSpec { Repetition = false }, spam);

        Assert.Equal(new Dictionary<string, long> { ["dup_line_frac"] = 1 }, on.Dropped);
        Assert.Empty(off.Dropped);
    }

    [Fact]
    public async Task Rewriting_rules_change_the_text_and_are_counted()
    {
        var text = "ホーム > 製品 > ヘルプ\nSee  https://example.com/page for   details, or write to info@example.com.\n© 2024 Example Inc.";

        var stripped = await IngestAsync(new CleaningSpec { StripUrls = true, StripEmails = true }, text);
        var kept = await IngestAsync(new CleaningSpec { Boilerplate = false, Whitespace = false }, text);

        Assert.Equal("See for details, or write to .", (await _fx.DocumentsAsync(stripped.Shards)).Single().Text);
        Assert.Equal(new Dictionary<string, long> { ["boilerplate_lines"] = 2, ["emails"] = 1, ["urls"] = 1, ["whitespace_documents"] = 1 }, stripped.Modified);
        Assert.Equal(text.Replace("info@example.com", "<EMAIL>", StringComparison.Ordinal), (await _fx.DocumentsAsync(kept.Shards)).Single().Text);
        Assert.Equal(new Dictionary<string, long> { ["email"] = 1 }, kept.PiiHits);
    }

    [Fact]
    public async Task The_report_has_every_count_and_the_rules_in_force()
    {
        var path = _fx.Write("r.jsonl", Line(English) + Line(English) + Line("電話は 03-1234-5678 です。" + Japanese) + Line("x") + "{broken\n");
        var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("rep", path) with { MinChars = 5 });

        using var report = JsonDocument.Parse(await _fx.ReadBlobAsync(result.ReportBlob));
        var r = report.RootElement;
        Assert.Equal((5, 2, 1, 0), (r.GetProperty("recordsIn").GetInt32(), r.GetProperty("recordsOut").GetInt32(), r.GetProperty("duplicates").GetInt32(), r.GetProperty("nearDuplicates").GetInt32()));
        Assert.Equal(1, r.GetProperty("dropped").GetProperty("too_short").GetInt32());
        Assert.Equal(1, r.GetProperty("pii").GetProperty("phone").GetInt32());
        Assert.Equal((1, 1), (r.GetProperty("languages").GetProperty("en").GetInt32(), r.GetProperty("languages").GetProperty("ja").GetInt32()));
        Assert.Equal((1, 1), (r.GetProperty("quarantined").GetInt32(), r.GetProperty("quarantinedRecords").GetInt32()));
        Assert.Equal("minhash shingle=5 bands=14 rows=8", r.GetProperty("rules").GetProperty("nearDedup").GetString());
        Assert.True(r.GetProperty("rules").GetProperty("repetition").GetBoolean());
    }
}
