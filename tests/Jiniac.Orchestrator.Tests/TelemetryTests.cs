using System.Diagnostics;
using System.Globalization;
using Jiniac.Hosting.Telemetry;

namespace Jiniac.Orchestrator.Tests;

/// <summary>OpenTelemetry on the run of <see cref="DashboardRunFixture"/>: one trace per checkpoint across services, and the Prometheus text.</summary>
[Collection(DashboardRunCollection.Name)]
public sealed class TelemetryTests(DashboardRunFixture fixture)
{
    [Fact]
    public async Task One_trace_follows_the_final_checkpoint_from_the_consume_of_CheckpointSaved_through_evaluation_to_ModelPublished()
    {
        var trace = fixture.FinalCheckpointTrace;
        // Spans are exported as they end; the last consumers of ModelPublished may still be finishing.
        var spans = await Until(() => fixture.Spans.ToArray().Where(a => a.TraceId == trace).ToList(),
            s => s.Count(a => a.Kind == ActivityKind.Consumer && Names(a).Contains("ModelPublished", StringComparison.Ordinal)) >= 2);
        var story = string.Join("\n", spans.Select(Describe));

        // The orchestrator consumed CheckpointSaved in this trace (its stage and journal consumers, for the registry grain too).
        Assert.True(spans.Any(a => a.Kind == ActivityKind.Consumer && Names(a).Contains("CheckpointSaved", StringComparison.Ordinal)), story);
        // The stage grain, later and outside that consume, continued the trace for the commands it sent.
        Assert.True(spans.Any(a => a.Source.Name == JiniacTelemetry.SourceName && a.DisplayName == "EvaluateCheckpoint dash/en/12"), story);
        Assert.True(spans.Any(a => a.Source.Name == JiniacTelemetry.SourceName && a.DisplayName == "PublishModel dash/en/12"), story);
        foreach (var message in new[] { "EvaluateCheckpoint", "EvaluationCompleted", "PublishModel", "ModelPublished" })
        {
            Assert.True(spans.Any(a => a.Kind == ActivityKind.Consumer && Names(a).Contains(message, StringComparison.Ordinal)), $"no consume of {message} in the trace:\n{story}");
            Assert.True(spans.Any(a => a.Kind == ActivityKind.Producer && Names(a).Contains(message, StringComparison.Ordinal)), $"no send or publish of {message} in the trace:\n{story}");
        }

        // Every span of the trace hangs off the test's root: one tree, no orphan roots.
        Assert.Single(spans, a => a.ParentSpanId == default);

        // An earlier checkpoint's trace is another one: each checkpoint is followed on its own.
        Assert.DoesNotContain(fixture.Spans.ToArray(), a => a.TraceId != trace && a.DisplayName == "PublishModel dash/en/12");
    }

    [Fact]
    public async Task The_Prometheus_endpoint_has_the_runs_steps_tokens_throughput_stage_durations_and_alerts()
    {
        using var http = new HttpClient();
        var url = new Uri(new Uri(fixture.DashboardUrl), "/metrics");
        // The journal is read into the metrics every 100 ms here, and the scrape text is cached for a moment.
        var text = await Until(() => http.GetStringAsync(url), t => Value(t, "jiniac_stage_duration_seconds_count", ("stage", "en"), ("status", "Completed")) is 1
            && Value(t, "jiniac_training_steps_total", ("stage", "en")) is 14);

        // Steps 1–10, a rollback to 8, then 9–12: 14 steps trained, 128 tokens each.
        Assert.Equal(14 * 128, Value(text, "jiniac_training_tokens_total", ("stage", "en")));
        var last = DashboardRunFixture.Progress[^1];
        Assert.Equal(last.TokensPerSecond, Value(text, "jiniac_training_tokens_per_second", ("stage", "en")));
        Assert.Equal(last.TokensPerSecond / 128, Value(text, "jiniac_training_steps_per_second", ("stage", "en")));
        Assert.Equal(last.Loss, Value(text, "jiniac_training_loss", ("stage", "en"))!.Value, 1e-9);
        Assert.Equal(1, Value(text, "jiniac_alerts_total", ("kind", "loss-spike")));
        Assert.Equal(1, Value(text, "jiniac_alerts_total", ("kind", "rolled-back")));
        Assert.True(Value(text, "jiniac_stage_duration_seconds_sum", ("stage", "en")) > 0);
        Assert.Equal(1, Value(text, "jiniac_stage_duration_seconds_bucket", ("stage", "en"), ("le", "604800")));
        foreach (var phase in new[] { "Preparing", "Training", "Evaluating", "Publishing" })
        {
            Assert.True(Value(text, "jiniac_stage_phase_duration_seconds_count", ("stage", "en"), ("phase", phase)) >= 1, $"no {phase} duration:\n{text}");
        }

        // ja is still training: no duration for it yet. (MassTransit's own meter is exported too, but its instruments
        // are process-wide: with the other test hosts of this process its samples are not this host's alone to assert on.)
        Assert.Null(Value(text, "jiniac_stage_duration_seconds_count", ("stage", "ja")));
    }

    /// <summary>The value of the sample with this name whose labels include these (and run="dash"); null when none.</summary>
    private static double? Value(string text, string name, params (string Label, string Value)[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                continue;
            }

            var close = line.LastIndexOf('}');
            var set = line[(name.Length + 1)..close];
            if (set.Contains("run=\"dash\"", StringComparison.Ordinal) && labels.All(l => set.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(line[(close + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static string Names(Activity a) =>
        a.DisplayName + " " + string.Join(" ", a.TagObjects.Where(t => t.Key.Contains("message", StringComparison.Ordinal)).Select(t => t.Value));

    private static string Describe(Activity a) =>
        $"{a.Source.Name} {a.Kind} '{a.DisplayName}' parent={a.ParentSpanId} {string.Join(", ", a.TagObjects.Select(t => $"{t.Key}={t.Value}"))}";

    private static Task<T> Until<T>(Func<T> read, Func<T, bool> condition) => Until(() => Task.FromResult(read()), condition);

    private static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> condition)
    {
        var deadline = DateTime.UtcNow + Eventually.Timeout;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (true)
        {
            var value = await read();
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await timer.WaitForNextTickAsync();
        }
    }
}
