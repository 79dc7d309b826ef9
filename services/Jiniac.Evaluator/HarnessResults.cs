using System.Globalization;
using System.Text.Json;

namespace Jiniac.Evaluator;

/// <summary>
/// Metrics from an external harness's results file (reference/eval-formats.md): lm-evaluation-harness
/// <c>results.json</c> (<c>{"results": {"&lt;task&gt;": {"acc,none": 0.61, …}}}</c>; lm-eval 0.4 writes
/// <c>&lt;output&gt;/&lt;model&gt;/results_&lt;time&gt;.json</c>) and llm-jp-eval's result file
/// (<c>{"scores": {"jcommonsenseqa_exact_match": "0.8000", "MC": …, "AVG": …}, "outputs": …}</c>).
/// Names come back as TASK/METRIC; lm-eval's ",none" filter suffix is dropped, other filters stay.
/// </summary>
internal static class HarnessResults
{
    public const string LmEval = "lm-eval";
    public const string LlmJpEval = "llm-jp-eval";

    public static List<(string Name, double Value)> Read(string format, string outputDir)
    {
        var file = Find(format, outputDir)
            ?? throw new EvaluationException(format == LmEval
                ? $"the harness wrote no lm-evaluation-harness results file (results*.json with a \"results\" object) under {outputDir}"
                : $"the harness wrote no llm-jp-eval result file (*.json with a \"scores\" object) under {outputDir}");
        using var json = Parse(file);
        var metrics = new List<(string, double)>();
        if (format == LmEval)
        {
            foreach (var task in json.RootElement.GetProperty("results").EnumerateObject())
            {
                if (task.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (var metric in task.Value.EnumerateObject())
                {
                    if (Number(metric.Value) is { } value)
                    {
                        var name = metric.Name.EndsWith(",none", StringComparison.Ordinal) ? metric.Name[..^",none".Length] : metric.Name;
                        metrics.Add(($"{task.Name}/{name}", value));
                    }
                }
            }
        }
        else
        {
            foreach (var score in json.RootElement.GetProperty("scores").EnumerateObject())
            {
                if (Number(score.Value) is { } value)
                {
                    metrics.Add((score.Name, value));
                }
            }
        }

        return metrics.Count > 0 ? metrics : throw new EvaluationException($"{file}: no numeric metrics in it");
    }

    /// <summary>The newest matching file (lm-eval names them by time, so the last in ordinal order).</summary>
    private static string? Find(string format, string outputDir)
    {
        if (!Directory.Exists(outputDir))
        {
            return null;
        }

        var key = format == LmEval ? "results" : "scores";
        var pattern = format == LmEval ? "results*.json" : "*.json";
        var files = Directory.GetFiles(outputDir, pattern, SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        for (var i = files.Length - 1; i >= 0; i--)
        {
            try
            {
                using var json = JsonDocument.Parse(File.ReadAllBytes(files[i]));
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Object)
                {
                    return files[i];
                }
            }
            catch (JsonException)
            {
                // Not a results file (a harness may leave other JSON beside it).
            }
        }

        return null;
    }

    private static JsonDocument Parse(string file)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(file));
        }
        catch (JsonException e)
        {
            throw new EvaluationException($"{file}: not valid JSON: {e.Message}");
        }
    }

    /// <summary>A number, or a string holding one (llm-jp-eval formats its scores as "0.1234"); "N/A" and the like are skipped.</summary>
    private static double? Number(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
        _ => null,
    };
}
