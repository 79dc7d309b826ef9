using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jiniac.Contracts.Grpc.Control.V1;
using Spectre.Console;

namespace Jiniac.Cli;

/// <summary>
/// Ingest's part of `jiniac status`: the per-source reports (runs/RUN/STAGE/ingest/SOURCE/report.json in the
/// state folder's blob store), one line each, and the whole reports under "ingestReports" in --json.
/// Only where the blobs are a local folder (the embedded topology); elsewhere the stage counts stand alone.
/// </summary>
internal static class IngestStatus
{
    public static IReadOnlyList<(string Stage, string Source, JsonElement Report)> Reports(string stateDir, RunView view)
    {
        var reports = new List<(string, string, JsonElement)>();
        foreach (var stage in view.Stages)
        {
            var dir = Path.Combine(stateDir, "blobs", "runs", view.RunId, stage.Name, "ingest");
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var sourceDir in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
            {
                var file = Path.Combine(sourceDir, "report.json");
                if (!File.Exists(file))
                {
                    continue;
                }

                try
                {
                    using var json = JsonDocument.Parse(File.ReadAllBytes(file));
                    reports.Add((stage.Name, Path.GetFileName(sourceDir), json.RootElement.Clone()));
                }
                catch (JsonException)
                {
                    // a report being written right now; the next status shows it
                }
            }
        }

        return reports;
    }

    /// <summary>"stage/source: in → out (train/eval); dropped rule n, …; duplicates e exact, n near; PII kind n, …; quarantined q".</summary>
    public static string Line(string stage, string source, JsonElement r)
    {
        var inv = CultureInfo.InvariantCulture;
        string Counts(string name) => r.TryGetProperty(name, out var counts) && counts.ValueKind == JsonValueKind.Object
            ? string.Join(", ", counts.EnumerateObject().Select(p => $"{p.Name} {p.Value.GetInt64().ToString("N0", inv)}"))
            : "";
        long Number(string name) => r.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt64() : 0;
        var dropped = Counts("dropped");
        var pii = Counts("pii");
        return string.Create(inv,
            $"ingest {stage}/{source}: {Number("recordsIn"):N0} in → {Number("recordsOut"):N0} out; dropped {(dropped.Length == 0 ? "none" : dropped)}; " +
            $"duplicates {Number("duplicates"):N0} exact, {Number("nearDuplicates"):N0} near; PII {(pii.Length == 0 ? "none" : pii)}; quarantined {Number("quarantined"):N0}");
    }

    public static void Print(string stateDir, RunView view)
    {
        foreach (var (stage, source, report) in Reports(stateDir, view))
        {
            AnsiConsole.MarkupLine(Markup.Escape(Line(stage, source, report)));
        }
    }

    /// <summary>The run's JSON with "ingestReports": {stage: {source: report}} added beside its own fields.</summary>
    public static JsonNode WithReports(string stateDir, RunView view, JsonSerializerOptions options)
    {
        var node = JsonSerializer.SerializeToNode(view, options)!;
        var byStage = new JsonObject();
        foreach (var (stage, source, report) in Reports(stateDir, view))
        {
            if (byStage[stage] is not JsonObject sources)
            {
                sources = [];
                byStage[stage] = sources;
            }

            sources[source] = JsonNode.Parse(report.GetRawText());
        }

        node["ingestReports"] = byStage;
        return node;
    }
}
