using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Jiniac.Orchestrator.Dashboard;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>The web dashboard of a live host, over its JSON and in real headless Chromium, on the run of <see cref="DashboardRunFixture"/>.</summary>
[Collection(DashboardRunCollection.Name)]
public sealed class DashboardTests(DashboardRunFixture fixture)
{
    private const string Run = DashboardRunFixture.RunId;

    [Fact]
    public async Task The_JSON_endpoints_serve_the_runs_the_view_and_the_journal_from_a_cursor_and_control_json_names_the_dashboard()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.DashboardUrl) };
        Assert.StartsWith("http://127.0.0.1:", fixture.DashboardUrl, StringComparison.Ordinal);
        Assert.EndsWith("/dashboard/", fixture.DashboardUrl, StringComparison.Ordinal);

        var page = await http.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("dashboard.js", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("no-such-file.js")).StatusCode);

        using var runs = JsonDocument.Parse(await http.GetStringAsync("../api/dashboard/runs"));
        var run = Assert.Single(runs.RootElement.EnumerateArray(), r => r.GetProperty("runId").GetString() == Run);
        Assert.Equal(["Completed", "Training"], run.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("status").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("../api/dashboard/runs/no-such-run")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("../api/dashboard/runs/..%2Fetc")).StatusCode);

        // The journal from a cursor: dense sequences from there, the training progress with its numbers.
        var journal = await fixture.Host.Grains.GetGrain<IJournalGrain>(Run).ReadAsync(0, 10_000);
        using var tail = JsonDocument.Parse(await http.GetStringAsync($"../api/dashboard/runs/{Run}/journal?from=5"));
        var entries = tail.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(5, entries.Count).Select(i => (long)i), entries.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.True(tail.RootElement.GetProperty("next").GetInt64() >= journal.Count);
        var progressed = entries.Where(e => e.GetProperty("type").GetString() == "TrainingProgressed").ToList();
        Assert.Equal(DashboardRunFixture.Progress.Select(p => (p.Step, p.Loss)), progressed.Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("loss").GetDouble())));

        // Live: what the page asks for next (from the cursor it was given) brings exactly what was journalled since.
        var next = tail.RootElement.GetProperty("next").GetInt64();
        await fixture.Host.Publish(new Contracts.AlertRaised { RunId = Run, Stage = "ja", Severity = "info", Kind = "dashboard-live", Message = "on the next poll" });
        var fresh = await Eventually.Until(async () => JsonDocument.Parse(await http.GetStringAsync($"../api/dashboard/runs/{Run}/journal?from={next}")).RootElement.Clone(),
            r => r.GetProperty("entries").GetArrayLength() > 0, "the new alert is served from the cursor");
        var alert = Assert.Single(fresh.GetProperty("entries").EnumerateArray());
        Assert.Equal((next, "AlertRaised", "dashboard-live", "ja"), (alert.GetProperty("seq").GetInt64(), alert.GetProperty("type").GetString(), alert.GetProperty("kind").GetString(), alert.GetProperty("stage").GetString()));
        Assert.Equal(next + 1, fresh.GetProperty("next").GetInt64());

        // control.json tells the CLI where the dashboard is, beside the control API.
        Assert.Equal(fixture.DashboardUrl, DashboardHosting.ReadAddress(Path.Combine(fixture.Dir, "state")));
    }

    [Fact]
    public async Task In_headless_Chromium_the_run_page_draws_the_runs_own_curves_timeline_marks_and_tables_and_the_screenshot_shows_them()
    {
        var work = Directory.CreateDirectory(Path.Combine(fixture.Dir, "chromium")).FullName;
        var runUrl = fixture.DashboardUrl + "#/run/" + Run;

        var list = await Chromium.DumpDomAsync(fixture.DashboardUrl, work);
        Assert.Contains(Tags(list, "tr"), tr => tr.GetValueOrDefault("data-run") == Run);
        Assert.Contains($"href=\"#/run/{Run}\"", list, StringComparison.Ordinal);

        var dom = await Chromium.DumpDomAsync(runUrl, work);
        Assert.Equal("run", Tag(dom, "body")["data-ready"]);

        // The loss curve is the journal's TrainingProgressed, point for point: two segments (before and after the
        // rollback to step 8), the first faded, the y range the losses' own, each point where its loss puts it.
        var journal = (await fixture.Host.Grains.GetGrain<IJournalGrain>(Run).ReadAsync(0, 10_000))
            .Select(e => new DashboardPage.Entry(e.Sequence, e.Type, e.Stage, JsonDocument.Parse(e.Json).RootElement)).ToList();
        var segments = DashboardPage.Segments(journal, "en");
        Assert.Equal([10, 4], segments.Select(s => s.Count));
        Assert.Equal(DashboardRunFixture.Progress.Select(p => (p.Step, p.Loss)), segments.SelectMany(s => s).Select(p => (p.Step, p.Loss)));
        DashboardPage.AssertLossCurve(dom, "en", segments);
        var (svg, inner) = Svg(dom, "loss-en");
        var width = D(svg["data-plot-width"]);

        // The rollback and the loss spike are marked at their steps; the throughput curve has every point too.
        Assert.Contains(Tags(inner, "line"), l => l.GetValueOrDefault("class") == "rollback-mark" && l["data-step"] == "8");
        Assert.Contains(Tags(inner, "path"), p => p.GetValueOrDefault("class") == "alert-mark" && p["data-kind"] == "loss-spike" && p["data-step"] == "10");
        Assert.Equal("14", Svg(dom, "tps-en").Svg["data-points"]);
        Assert.Equal(DashboardRunFixture.Progress.Max(p => p.TokensPerSecond), D(Svg(dom, "tps-en").Svg["data-y-max"]));

        // The stage timeline has en's statuses in order and ja training; the tables have the evaluation, checkpoints, revision.
        var timeline = Tags(dom, "rect").Where(r => r.GetValueOrDefault("class") == "segment").ToList();
        Assert.Equal(["Preparing", "Ready", "Training", "Evaluating", "Publishing", "Completed"],
            timeline.Where(r => r["data-stage"] == "en").Select(r => r["data-status"]).Distinct());
        Assert.Contains(timeline, r => r["data-stage"] == "ja" && r["data-status"] == "Training");
        var view = (await fixture.Host.Run(Run).GetViewAsync())!;
        var evaluation = view.Stages[0].Evaluations.Single(e => e.Step == 12);
        Assert.Contains(Tags(dom, "tr"), tr => tr.GetValueOrDefault("data-stage") == "en" && tr.GetValueOrDefault("data-step") == "12" && tr.ContainsKey("data-step"));
        foreach (var result in evaluation.Results)
        {
            var cell = Regex.Match(dom, $"<td class=\"num\" data-metric=\"perplexity/{result.Domain}\">([^<]+)</td>");
            Assert.True(cell.Success, $"no perplexity cell for {result.Domain}");
            Assert.Equal(result.Perplexity, D(cell.Groups[1].Value), result.Perplexity * 1e-3);
        }

        Assert.Contains(">0.4200<", dom, StringComparison.Ordinal); // the suite metric mc/t/acc
        Assert.Equal(["4", "8", "12"], Tags(Section(dom, "checkpoints"), "tr").Where(t => t.GetValueOrDefault("data-stage") == "en").Select(t => t["data-step"]));
        Assert.Contains(Tags(dom, "tr"), tr => tr.GetValueOrDefault("data-revision") == "rev-en-12");
        Assert.Contains(Tags(dom, "li"), li => li.GetValueOrDefault("data-kind") == "rolled-back");

        // The screenshot: not blank, and inside the loss chart's box the curve's colour is drawn along its length.
        var shot = await Chromium.ScreenshotAsync(runUrl, work, Path.Combine(work, "run.png"));
        var (curve, curveColumns, colours) = DashboardPage.CurvePixels(shot, svg);
        Assert.True(colours > 50, $"the screenshot has only {colours} colours");
        Assert.True(curve > 300, $"only {curve} curve-coloured pixels in the loss chart");
        Assert.True(curveColumns > width * 0.6, $"the curve covers {curveColumns} columns of a {width}-wide plot");
    }

    private static double D(string s) => DashboardPage.D(s);

    private static Dictionary<string, string> Tag(string html, string name) => Tags(html, name)[0];

    private static List<Dictionary<string, string>> Tags(string html, string name) => DashboardPage.Tags(html, name);

    private static (Dictionary<string, string> Svg, string Inner) Svg(string html, string id) => DashboardPage.Svg(html, id);

    private static string Section(string html, string tableId) => DashboardPage.Table(html, tableId);
}
