using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// What two runs of one pipeline must agree on, whatever the topology: per stage its status, data, ingest and shard
/// counts, every checkpoint (step, tokens, loss to the last bit), every evaluation and every published revision.
/// Read from `jiniac status --json` (embedded) or the control API's RunView (distributed) — the same view.
/// </summary>
internal static class RunSummary
{
    /// <summary>The CLI's own options for `status --json` (camelCase, numbers as numbers).</summary>
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static List<string> Of(RunView view) => Of(JsonSerializer.SerializeToElement(view, Json));

    public static List<string> Of(JsonElement run)
    {
        var lines = new List<string> { $"run {S(run, "status")}" };
        foreach (var stage in run.GetProperty("stages").EnumerateArray())
        {
            var name = S(stage, "name");
            lines.Add($"stage {name} {S(stage, "status")} attempt={L(stage, "attempt")} steps={L(stage, "totalSteps")} tokens={L(stage, "tokensTrained")}");
            var shards = stage.GetProperty("shards");
            var ingest = stage.GetProperty("ingest");
            lines.Add($"  shards total={L(shards, "total")} tokenized={L(shards, "tokenized")} failed={L(shards, "failed")}");
            lines.Add($"  ingest in={L(ingest, "recordsIn")} out={L(ingest, "recordsOut")} duplicates={L(ingest, "duplicates")} quarantined={L(ingest, "quarantined")}");
            foreach (var data in stage.GetProperty("data").EnumerateArray().OrderBy(d => S(d, "prefix"), StringComparer.Ordinal))
            {
                lines.Add($"  data {S(data, "source")} {S(data, "prefix")} tokens={L(data, "tokens")} weight={D(data, "weight")}");
            }

            foreach (var checkpoint in stage.GetProperty("checkpoints").EnumerateArray())
            {
                lines.Add($"  checkpoint step={L(checkpoint, "step")} tokens={L(checkpoint, "tokens")} loss={D(checkpoint, "loss")}");
            }

            foreach (var evaluation in stage.GetProperty("evaluations").EnumerateArray())
            {
                foreach (var result in evaluation.GetProperty("results").EnumerateArray())
                {
                    lines.Add($"  evaluation step={L(evaluation, "step")} {S(result, "domain")} tokens={L(result, "tokens")} bytes={L(result, "textBytes")} perplexity={D(result, "perplexity")}");
                }
            }

            foreach (var published in stage.GetProperty("published").EnumerateArray())
            {
                lines.Add($"  published step={L(published, "step")} {S(published, "repo")} revision={S(published, "revision")}");
            }
        }

        return lines;
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString() ?? "";

    private static long L(JsonElement e, string name) => e.GetProperty(name).GetInt64();

    private static string D(JsonElement e, string name) => e.GetProperty(name).GetDouble().ToString("R", CultureInfo.InvariantCulture);
}
