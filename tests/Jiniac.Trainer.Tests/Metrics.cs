using System.Text.Json;

namespace Jiniac.Trainer.Tests;

public sealed record MetricsLine(long Step, long Tokens, double Loss, double Lr, double GradNorm, double TokensPerSecond, DateTimeOffset Time);

public static class Metrics
{
    /// <summary>Parses metrics.jsonl strictly; after a resume a step may appear twice, and the later line wins.</summary>
    public static SortedDictionary<long, MetricsLine> Read(string runDir)
    {
        var result = new SortedDictionary<long, MetricsLine>();
        foreach (var line in File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            var time = o.GetProperty("time").GetString()!;
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", time);
            var m = new MetricsLine(
                o.GetProperty("step").GetInt64(),
                o.GetProperty("tokens").GetInt64(),
                o.GetProperty("loss").GetDouble(),
                o.GetProperty("lr").GetDouble(),
                o.GetProperty("grad_norm").GetDouble(),
                o.GetProperty("tokens_per_second").GetDouble(),
                DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture));
            result[m.Step] = m;
        }

        return result;
    }
}
