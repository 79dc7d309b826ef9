using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Spectre.Console;

namespace Jiniac.Cli;

/// <summary>The read verbs beside status/events/watch: checkpoints and logs. Viewer role where keys are on.</summary>
internal static class ReadCommands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> CheckpointsAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not ([_] or [_, _]))
        {
            throw new CliException("usage: jiniac checkpoints RUN [STAGE] [--json]");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.ListCheckpointsAsync(new ListCheckpointsRequest { RunId = args.Positionals[0], Stage = args.Positionals.ElementAtOrDefault(1) ?? "" });
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(reply, StatusCommand.Json));
            return ExitCodes.Ok;
        }

        foreach (var stage in reply.Stages)
        {
            AnsiConsole.Write(Table(stage));
        }

        return ExitCodes.Ok;
    }

    public static Table Table(StageCheckpoints stage)
    {
        var skips = stage.SkipBatches.Count == 0 ? "" : $", skipping batches {string.Join(" ", stage.SkipBatches.Select(r => $"{r.From}:{r.To}"))}";
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"{Markup.Escape(stage.Stage)} — {Markup.Escape(stage.Status)}, attempt {stage.Attempt}{Markup.Escape(skips)}")
            .AddColumns("step", "tokens", "loss", "", "evaluated", "published", "folder");
        foreach (var c in stage.Checkpoints)
        {
            var note = c.Final ? "final" : c.Pruned ? "[grey]pruned[/]" : "";
            table.AddRow(c.Step.ToString(Inv), c.Tokens.ToString("N0", Inv), c.Loss.ToString("F3", Inv), note, c.Evaluated ? "yes" : "",
                Revision(c.PublishedRevision), Markup.Escape(c.Folder));
        }

        foreach (var d in stage.Discarded)
        {
            table.AddRow($"[grey]{d.Step.ToString(Inv)}[/]", d.Tokens.ToString("N0", Inv), d.Loss.ToString("F3", Inv),
                $"[yellow]discarded by attempt {d.DiscardedByAttempt}[/]", "", Revision(d.PublishedRevision), Markup.Escape($"{d.Folder} → kept under the stage's replayed/attempt-{d.DiscardedByAttempt}/ ({d.DiscardedReason})"));
        }

        return table;
    }

    public static async Task<int> LogsAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var follow = args.Flag("follow");
        var json = args.Flag("json");
        var tail = args.GetInt("tail") ?? 50;
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage] || tail <= 0)
        {
            throw new CliException("usage: jiniac logs RUN STAGE [--follow] [--tail N] [--json]");
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, cancel.Token);
        using var call = connection.Client.WatchTrainerLog(new WatchTrainerLogRequest { RunId = run, Stage = stage, TailLines = tail, Follow = follow }, cancellationToken: cancel.Token);
        try
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancel.Token))
            {
                // --json: one chunk a line, {text, offset, path}, offset being where to read on from.
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(chunk, WatchCommand.Line));
                }
                else
                {
                    Console.Write(chunk.Text);
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || cancel.IsCancellationRequested)
        {
        }

        return ExitCodes.Ok;
    }

    private static string Revision(string revision) => revision.Length == 0 ? "" : revision[..Math.Min(12, revision.Length)];
}
