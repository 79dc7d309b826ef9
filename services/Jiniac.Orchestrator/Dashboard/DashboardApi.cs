using System.Text.Json;
using System.Text.Json.Nodes;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Dashboard;

/// <summary>
/// The dashboard's JSON, read from the same grains and journal as the control API: the runs, one run's view,
/// and its journal from a cursor, cut down to what the charts and tables draw (the page polls it for live updates).
/// </summary>
internal sealed class DashboardApi(IGrainFactory grains, IOptions<DashboardOptions> options)
{
    public async Task<IResult> RunsAsync()
    {
        var runs = new List<object>();
        foreach (var runId in await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
        {
            if (await grains.GetGrain<IRunGrain>(runId).GetViewAsync() is { } view)
            {
                runs.Add(new
                {
                    view.RunId,
                    view.Name,
                    view.Status,
                    view.CurrentStage,
                    view.Created,
                    view.Updated,
                    Stages = view.Stages.Select(s => new { s.Name, s.Status, s.Step, s.TotalSteps }),
                });
            }
        }

        return Json(runs);
    }

    public async Task<IResult> RunAsync(string runId)
    {
        if (!SafeName.IsValid(runId))
        {
            return Results.BadRequest($"run id '{runId}' is not a safe name");
        }

        return await grains.GetGrain<IRunGrain>(runId).GetViewAsync() is { } view
            ? Json(view)
            : Results.NotFound($"run '{runId}' does not exist");
    }

    /// <summary>Journal entries from <paramref name="from"/>: training progress, alerts, status changes and checkpoints in full, the rest by type.</summary>
    public async Task<IResult> JournalAsync(string runId, long? from)
    {
        if (!SafeName.IsValid(runId))
        {
            return Results.BadRequest($"run id '{runId}' is not a safe name");
        }

        var journal = grains.GetGrain<IJournalGrain>(runId);
        var cursor = Math.Max(0, from ?? 0);
        var page = options.Value.JournalPage;
        var entries = new List<JsonObject>();
        while (entries.Count < page)
        {
            var read = await journal.ReadAsync(cursor, Math.Min(500, page - entries.Count));
            if (read.Count == 0)
            {
                break;
            }

            foreach (var entry in read)
            {
                entries.Add(Project(entry));
                cursor = entry.Sequence + 1;
            }
        }

        return Json(new { Next = cursor, Entries = entries });
    }

    internal static JsonObject Project(JournalEntryView entry)
    {
        var o = new JsonObject
        {
            ["seq"] = entry.Sequence,
            ["t"] = entry.Timestamp.ToUnixTimeMilliseconds(),
            ["type"] = entry.Type,
            ["stage"] = entry.Stage,
        };
        if (entry.Type is not ("TrainingProgressed" or "AlertRaised" or "StageStatusChanged" or "CheckpointSaved" or "TrainingStarted"))
        {
            return o;
        }

        using var data = JsonDocument.Parse(entry.Json);
        var root = data.RootElement;
        foreach (var name in Fields(entry.Type))
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                o[name] = JsonNode.Parse(value.GetRawText());
            }
        }

        if (o["stage"] is null && root.TryGetProperty("stage", out var stage) && stage.ValueKind == JsonValueKind.String)
        {
            o["stage"] = stage.GetString();
        }

        return o;
    }

    private static string[] Fields(string type) => type switch
    {
        "TrainingProgressed" => ["attempt", "step", "totalSteps", "tokens", "loss", "tokensPerSecond", "learningRate", "gradNorm"],
        "AlertRaised" => ["severity", "kind", "message", "attempt", "step"],
        "StageStatusChanged" => ["from", "to", "attempt", "reason"],
        "CheckpointSaved" => ["attempt", "step", "tokens", "loss"],
        "TrainingStarted" => ["attempt", "resumedFromStep"],
        _ => [],
    };

    private static IResult Json(object value) => Results.Json(value, OrchestratorJson.Options);
}
