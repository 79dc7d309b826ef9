using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Contracts.Grpc.Control.V1;
using Spectre.Console;

namespace Jiniac.Cli;

internal static class StatusCommand
{
    /// <summary>camelCase, numbers as numbers (protobuf's JSON mapping would print 64-bit counts as strings).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var stateDir = target.StateDir;
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals.Count > 1)
        {
            throw new CliException("usage: jiniac status [RUN] [--json] [--endpoint URL] [--api-key KEY]");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var client = connection.Client;
        List<RunView> views = [];
        if (args.Positionals is [var runId])
        {
            views.Add(await client.GetRunAsync(new GetRunRequest { RunId = runId }));
        }
        else
        {
            foreach (var run in (await client.ListRunsAsync(new ListRunsRequest())).Runs)
            {
                views.Add(await client.GetRunAsync(new GetRunRequest { RunId = run.RunId }));
            }
        }

        if (json)
        {
            if (args.Positionals.Count == 1)
            {
                var node = IngestStatus.WithReports(stateDir, views[0], Json);
                var history = new RunHistory();
                await history.CatchUpAsync(client, views[0].RunId, default);
                node["alerts"] = new System.Text.Json.Nodes.JsonArray([.. history.Alerts.Select(a => (System.Text.Json.Nodes.JsonNode?)a)]);
                Console.WriteLine(node.ToJsonString(Json));
            }
            else
            {
                Console.WriteLine(new System.Text.Json.Nodes.JsonObject { ["runs"] = new System.Text.Json.Nodes.JsonArray([.. views.Select(v => IngestStatus.WithReports(stateDir, v, Json))]) }.ToJsonString(Json));
            }

            return 0;
        }

        if (views.Count == 0)
        {
            Console.WriteLine($"no runs in {stateDir}");
            return 0;
        }

        foreach (var view in views)
        {
            AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(view.RunId)}[/] ({Markup.Escape(view.PipelinePath)}): {Markup.Escape(view.Status)}, current stage {Markup.Escape(view.CurrentStage)}");
            if (!string.IsNullOrEmpty(view.Reason))
            {
                AnsiConsole.MarkupLine($"  [red]{Markup.Escape(view.Reason)}[/]");
            }

            AnsiConsole.Write(RunViewRenderer.StatusTable(view));
            IngestStatus.Print(stateDir, view);
            if (view.Stages.Any(s => s.Evaluations.Count > 0))
            {
                AnsiConsole.Write(RunViewRenderer.EvaluationTable(view));
                RunViewRenderer.WriteSuites(view);
            }

            foreach (var s in view.Stages)
            {
                foreach (var p in s.Published)
                {
                    AnsiConsole.MarkupLine($"published {Markup.Escape(s.Name)} step {p.Step} → {Markup.Escape(p.Folder)}");
                }
            }

            if (args.Positionals.Count == 1)
            {
                // One run asked for: its checkpoints stage by stage, and the alerts its journal holds.
                foreach (var stage in (await client.ListCheckpointsAsync(new ListCheckpointsRequest { RunId = view.RunId })).Stages)
                {
                    if (stage.Checkpoints.Count + stage.Discarded.Count > 0)
                    {
                        AnsiConsole.Write(ReadCommands.Table(stage));
                    }
                }

                var history = new RunHistory();
                await history.CatchUpAsync(client, view.RunId, default);
                if (history.Alerts.Count > 0)
                {
                    var alerts = new Table().Border(TableBorder.Rounded).Title("alerts").AddColumn("alert");
                    foreach (var alert in history.RecentAlerts(20))
                    {
                        alerts.AddRow(Markup.Escape(alert));
                    }

                    AnsiConsole.Write(alerts);
                }
            }
        }

        return 0;
    }
}
