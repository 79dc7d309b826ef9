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
        var stateDir = Cli.StateDir(args);
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals.Count > 1)
        {
            throw new CliException("usage: jiniac status [RUN] [--json]");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: false, mustExist: true, default);
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
            Console.WriteLine(args.Positionals.Count == 1
                ? IngestStatus.WithReports(stateDir, views[0], Json).ToJsonString(Json)
                : new System.Text.Json.Nodes.JsonObject { ["runs"] = new System.Text.Json.Nodes.JsonArray([.. views.Select(v => IngestStatus.WithReports(stateDir, v, Json))]) }.ToJsonString(Json));
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
        }

        return 0;
    }
}
