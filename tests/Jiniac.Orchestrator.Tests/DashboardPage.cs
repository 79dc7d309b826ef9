using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// Reads the dashboard's DOM as Chromium dumps it (every attribute value quoted) and checks a chart against the
/// journal it must draw. Shared with the end-to-end tests, which look at a dashboard of a really trained run.
/// </summary>
internal static partial class DashboardPage
{
    /// <summary>A journal entry of TrainingProgressed or AlertRaised, as `jiniac events --json` or the journal grain gives it.</summary>
    public sealed record Entry(long Sequence, string Type, string? Stage, JsonElement Data);

    /// <summary>The attributes of every opening tag of one name.</summary>
    public static List<Dictionary<string, string>> Tags(string html, string name) =>
        Regex.Matches(html, $"<{name}\\b([^>]*)>").Select(m => AttributeRegex().Matches(m.Groups[1].Value)
            .ToDictionary(a => a.Groups[1].Value, a => WebUtility.HtmlDecode(a.Groups[2].Value))).ToList();

    public static (Dictionary<string, string> Svg, string Inner) Svg(string html, string id)
    {
        var m = Regex.Match(html, $"<svg\\b([^>]*\\bid=\"{Regex.Escape(id)}\"[^>]*)>(.*?)</svg>", RegexOptions.Singleline);
        Assert.True(m.Success, $"no <svg id=\"{id}\"> in the page");
        return (Tags(m.Value, "svg")[0], m.Groups[2].Value);
    }

    public static string Table(string html, string id)
    {
        var m = Regex.Match(html, $"<table id=\"{Regex.Escape(id)}\">(.*?)</table>", RegexOptions.Singleline);
        Assert.True(m.Success, $"no table {id}");
        return m.Groups[1].Value;
    }

    public static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>
    /// The segments a stage's chart must draw from its journal: one per attempt and per rollback within it, each
    /// step once (its last report), in step order (dashboard.js, split()).
    /// </summary>
    public static List<List<(long Step, double Loss, double TokensPerSecond)>> Segments(IEnumerable<Entry> journal, string stage)
    {
        var entries = journal.Where(e => e.Stage == stage).OrderBy(e => e.Sequence).ToList();
        var rollbacks = entries.Where(e => e.Type == "AlertRaised" && e.Data.GetProperty("kind").GetString() == "rolled-back"
            && e.Data.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number).ToList();
        var segments = new List<(string Key, SortedDictionary<long, (long, double, double)> Points)>();
        foreach (var p in entries.Where(e => e.Type == "TrainingProgressed"))
        {
            var attempt = p.Data.GetProperty("attempt").GetInt32();
            var epoch = rollbacks.Count(r => r.Sequence < p.Sequence
                && (!r.Data.TryGetProperty("attempt", out var a) || a.ValueKind != JsonValueKind.Number || a.GetInt32() == attempt));
            var key = $"{attempt}:{epoch}";
            var segment = segments.Find(s => s.Key == key).Points;
            if (segment is null)
            {
                segment = [];
                segments.Add((key, segment));
            }

            var step = p.Data.GetProperty("step").GetInt64();
            segment[step] = (step, Number(p.Data.GetProperty("loss")), Number(p.Data.GetProperty("tokensPerSecond")));
        }

        return segments.Select(s => s.Points.Values.ToList()).ToList();
    }

    /// <summary>The loss chart draws exactly these segments: its point count, its y range, and every point where its step and loss put it.</summary>
    public static void AssertLossCurve(string dom, string stage, List<List<(long Step, double Loss, double TokensPerSecond)>> segments)
    {
        var (svg, inner) = Svg(dom, "loss-" + stage);
        var all = segments.SelectMany(s => s).ToList();
        Assert.NotEmpty(all);
        Assert.Equal(all.Count.ToString(CultureInfo.InvariantCulture), svg["data-points"]);
        Assert.Equal(all.Min(p => p.Loss), D(svg["data-y-min"]));
        Assert.Equal(all.Max(p => p.Loss), D(svg["data-y-max"]));
        Assert.Equal(all.Min(p => p.Step), D(svg["data-x-min"]));
        Assert.Equal(all.Max(p => p.Step), D(svg["data-x-max"]));
        var lines = Tags(inner, "polyline");
        Assert.Equal(segments.Count, lines.Count);
        var (top, height, left, width) = (D(svg["data-plot-top"]), D(svg["data-plot-height"]), D(svg["data-plot-left"]), D(svg["data-plot-width"]));
        var (yTop, yBottom, xMin, xMax) = (D(svg["data-y-top"]), D(svg["data-y-bottom"]), D(svg["data-x-min"]), D(svg["data-x-max"]));
        for (var s = 0; s < segments.Count; s++)
        {
            Assert.Equal(s < segments.Count - 1, lines[s]["class"].Contains("superseded", StringComparison.Ordinal));
            var points = lines[s]["points"].Split(' ').Select(p => p.Split(',')).Select(p => (X: D(p[0]), Y: D(p[1]))).ToList();
            Assert.Equal(segments[s].Count, points.Count);
            for (var i = 0; i < points.Count; i++)
            {
                Assert.Equal(left + ((segments[s][i].Step - xMin) / (xMax - xMin) * width), points[i].X, 0.01);
                Assert.Equal(top + ((yTop - segments[s][i].Loss) / (yTop - yBottom) * height), points[i].Y, 0.01);
            }
        }
    }

    /// <summary>Pixels of the loss stroke (#d9480f, dashboard.css --loss; faded segments blend it with white) inside the chart's box.</summary>
    public static (int Pixels, int Columns, int Colours) CurvePixels(Png shot, Dictionary<string, string> svg)
    {
        var rect = svg["data-rect"].Split(',').Select(int.Parse).ToArray();
        Assert.True(rect[1] + rect[3] <= shot.Height, $"the chart ({svg["data-rect"]}) lies below the {shot.Width}x{shot.Height} screenshot");
        var colours = new HashSet<(byte, byte, byte)>();
        var columns = new HashSet<int>();
        var pixels = 0;
        for (var y = 0; y < shot.Height; y++)
        {
            for (var x = 0; x < shot.Width; x++)
            {
                var p = shot[x, y];
                colours.Add(p);
                if (x >= rect[0] && x < rect[0] + rect[2] && y >= rect[1] && y < rect[1] + rect[3] && p.R > 200 && p.R - p.G > 40 && p.R - p.B > 60)
                {
                    pixels++;
                    columns.Add(x);
                }
            }
        }

        return (pixels, columns.Count, colours.Count);
    }

    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.Parse(e.GetString()!, CultureInfo.InvariantCulture);

    [GeneratedRegex("([\\w:-]+)=\"([^\"]*)\"")]
    private static partial Regex AttributeRegex();
}
