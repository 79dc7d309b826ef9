using System.Text.Json;
using global::Jiniac.Orchestrator.Tests;

namespace Jiniac.EndToEnd.Tests;

/// <summary>
/// The web dashboard of a live `jiniac run`, in headless Chromium: each stage's loss curve is the really trained
/// run's TrainingProgressed, as `jiniac events --json` lists them, point for point, and a screenshot shows it.
/// </summary>
internal static class DashboardOfARun
{
    public static async Task AssertDrawsTheRunAsync(string dir, string state, string runId, IReadOnlyList<string> stages)
    {
        using var endpoint = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(state, "control.json")));
        var url = endpoint.RootElement.GetProperty("dashboard").GetString()! + "#/run/" + runId;
        var events = await Jiniac.RunAsync(dir, TimeSpan.FromMinutes(2), "events", runId, "--json", "--state-dir", state);
        Assert.True(events.ExitCode == 0, events.ToString());
        var journal = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => new DashboardPage.Entry(e.GetProperty("sequence").GetInt64(), e.GetProperty("type").GetString()!,
                e.TryGetProperty("stage", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null, e.GetProperty("data"))).ToList();

        var work = Directory.CreateDirectory(Path.Combine(dir, "chromium")).FullName;
        var dom = await Chromium.DumpDomAsync(url, work);
        foreach (var stage in stages)
        {
            var segments = DashboardPage.Segments(journal, stage);
            Assert.True(segments.Sum(x => x.Count) >= 2, $"{stage}: only {segments.Sum(x => x.Count)} progress reports in the journal");
            DashboardPage.AssertLossCurve(dom, stage, segments);
        }

        var shot = await Chromium.ScreenshotAsync(url, work, Path.Combine(work, "run.png"));
        var (pixels, columns, colours) = DashboardPage.CurvePixels(shot, DashboardPage.Svg(dom, "loss-" + stages[0]).Svg);
        Assert.True(colours > 50 && pixels > 300 && columns > 300, $"the loss curve of {stages[0]} is not on the screenshot: {pixels} pixels in {columns} columns, {colours} colours");
    }
}
