using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Jiniac.Cli;

/// <summary>
/// `jiniac watch RUN`: live progress per stage (ingest, tokenize, steps, loss sparkline, ETA) until the run ends; plain
/// lines when stdout is not a terminal. Exit code 0 when the run completed, 1 when it failed or was cancelled.
/// </summary>
internal static class WatchCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly HashSet<string> Terminal = ["Completed", "Failed", "Cancelled"];

    /// <summary>JSON Lines: the status shapes, one object a line.</summary>
    public static readonly JsonSerializerOptions Line = new(StatusCommand.Json) { WriteIndented = false };

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var json = args.Flag("json");
        var plain = json || args.Flag("plain") || !AnsiConsole.Profile.Capabilities.Interactive;
        var interval = TimeSpan.FromSeconds(args.GetInt("interval") ?? 1);
        args.RejectUnknown();
        if (args.Positionals is not [var runId] || interval <= TimeSpan.Zero)
        {
            throw new CliException("usage: jiniac watch RUN [--plain] [--json] [--interval SECONDS]");
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, cancel.Token);
        var history = new RunHistory();
        var view = await connection.Client.GetRunAsync(new GetRunRequest { RunId = runId }, cancellationToken: cancel.Token);
        try
        {
            if (plain)
            {
                var last = "";
                while (true)
                {
                    await history.CatchUpAsync(connection.Client, runId, cancel.Token);
                    foreach (var alert in history.TakeNewAlerts())
                    {
                        Console.WriteLine(json ? JsonSerializer.Serialize(new { alert }, Line) : $"[{DateTime.Now:HH:mm:ss}] alert {alert}");
                    }

                    var line = RunViewRenderer.PlainLine(view);
                    if (line != last)
                    {
                        // --json: one RunView a line (as `status RUN --json` shapes it) each time something changed.
                        Console.WriteLine(json ? JsonSerializer.Serialize(view, Line) : $"[{DateTime.Now:HH:mm:ss}] {line}");
                        last = line;
                    }

                    if (Terminal.Contains(view.Status))
                    {
                        break;
                    }

                    await Task.Delay(interval, cancel.Token);
                    view = await connection.Client.GetRunAsync(new GetRunRequest { RunId = runId }, cancellationToken: cancel.Token);
                }
            }
            else
            {
                await AnsiConsole.Live(Render(view, history)).AutoClear(false).StartAsync(async ctx =>
                {
                    while (true)
                    {
                        await history.CatchUpAsync(connection.Client, runId, cancel.Token);
                        ctx.UpdateTarget(Render(view, history));
                        ctx.Refresh();
                        if (Terminal.Contains(view.Status))
                        {
                            return;
                        }

                        await Task.Delay(interval, cancel.Token);
                        view = await connection.Client.GetRunAsync(new GetRunRequest { RunId = runId }, cancellationToken: cancel.Token);
                    }
                });
            }
        }
        catch (Exception e) when (cancel.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            return ExitCodes.Ok; // Ctrl+C: the watcher stops, the run goes on
        }

        return view.Status == "Completed" ? ExitCodes.Ok : ExitCodes.RunFailed;
    }

    public static IRenderable Render(RunView view, RunHistory history)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(view.RunId)}[/] — {Markup.Escape(view.Status)}")
            .AddColumns("stage", "status", "ingested", "tokenized", "steps", "loss", "tok/s", "ETA");
        foreach (var s in view.Stages)
        {
            table.AddRow(
                Markup.Escape(s.Name) + (s.Attempt > 1 ? $" [grey](attempt {s.Attempt})[/]" : ""),
                Markup.Escape(s.Status),
                s.Ingest.SourcesTotal == 0 ? "" : $"{Bar(s.Ingest.SourcesDone, s.Ingest.SourcesTotal, 8)} {s.Ingest.SourcesDone}/{s.Ingest.SourcesTotal} sources, {s.Shards.Total} shards",
                s.Shards.Total == 0 ? "" : $"{Bar(s.Shards.Tokenized, s.Shards.Total, 8)} {s.Shards.Tokenized}/{s.Shards.Total}" + (s.Shards.Failed > 0 ? $" [red]{s.Shards.Failed} failed[/]" : ""),
                s.TotalSteps == 0 ? "" : $"{Bar(s.Step, s.TotalSteps, 16)} {s.Step}/{s.TotalSteps}",
                (double.IsNaN(s.Loss) || s.Step == 0 ? "" : s.Loss.ToString("F3", Inv)) + " " + Sparkline(history.Losses(s.Name), 24),
                s.Status == "Training" && s.TokensPerSecond > 0 ? s.TokensPerSecond.ToString("N0", Inv) : "",
                s.Status == "Training" ? RunViewRenderer.Eta(s) : "");
        }

        var alerts = history.RecentAlerts(5);
        if (alerts.Count > 0 || !string.IsNullOrEmpty(view.Reason))
        {
            var caption = new StringBuilder();
            foreach (var alert in alerts)
            {
                caption.Append("[yellow]").Append(Markup.Escape(alert)).Append("[/]\n");
            }

            if (!string.IsNullOrEmpty(view.Reason))
            {
                caption.Append("[red]").Append(Markup.Escape(view.Reason)).Append("[/]");
            }

            table.Caption(caption.ToString().TrimEnd('\n'));
        }

        return table;
    }

    /// <summary>A text progress bar of <paramref name="width"/> cells.</summary>
    public static string Bar(long done, long total, int width)
    {
        var filled = total <= 0 ? 0 : (int)Math.Clamp(done * width / total, 0, width);
        return new string('█', filled) + new string('░', width - filled);
    }

    /// <summary>The last <paramref name="width"/> values as ▁▂▃▄▅▆▇█, scaled between their own minimum and maximum.</summary>
    public static string Sparkline(IReadOnlyList<double> values, int width)
    {
        const string levels = "▁▂▃▄▅▆▇█";
        var start = Math.Max(0, values.Count - width);
        double min = double.MaxValue, max = double.MinValue;
        for (var i = start; i < values.Count; i++)
        {
            if (double.IsFinite(values[i]))
            {
                min = Math.Min(min, values[i]);
                max = Math.Max(max, values[i]);
            }
        }

        var line = new StringBuilder(width);
        for (var i = start; i < values.Count; i++)
        {
            var v = values[i];
            line.Append(!double.IsFinite(v) ? '!' : max <= min ? levels[3] : levels[(int)Math.Round((v - min) / (max - min) * (levels.Length - 1))]);
        }

        return line.ToString();
    }
}

/// <summary>What the journal says beyond a run's current view: each stage's loss history and the alerts, read incrementally by cursor.</summary>
internal sealed class RunHistory
{
    private readonly Dictionary<string, List<double>> _losses = new(StringComparer.Ordinal);
    private readonly List<string> _alerts = [];
    private long _cursor;
    private int _alertsShown;

    public IReadOnlyList<double> Losses(string stage) => _losses.TryGetValue(stage, out var list) ? list : [];

    public IReadOnlyList<string> Alerts => _alerts;

    public IReadOnlyList<string> RecentAlerts(int count) => _alerts[Math.Max(0, _alerts.Count - count)..];

    public IEnumerable<string> TakeNewAlerts()
    {
        var fresh = _alerts[_alertsShown..];
        _alertsShown = _alerts.Count;
        return fresh;
    }

    public async Task CatchUpAsync(ControlService.ControlServiceClient client, string runId, CancellationToken cancellationToken)
    {
        using var call = client.WatchEvents(new WatchEventsRequest { RunId = runId, From = _cursor, Follow = false }, cancellationToken: cancellationToken);
        await foreach (var entry in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            _cursor = entry.Sequence + 1;
            Apply(entry);
        }
    }

    public void Apply(JournalEntry entry)
    {
        if (entry.Type is not ("TrainingProgressed" or "AlertRaised"))
        {
            return;
        }

        using var json = JsonDocument.Parse(entry.Json);
        var root = json.RootElement;
        if (entry.Type == "TrainingProgressed" && root.TryGetProperty("loss", out var loss))
        {
            if (!_losses.TryGetValue(entry.Stage, out var list))
            {
                _losses[entry.Stage] = list = [];
            }

            list.Add(loss.ValueKind == JsonValueKind.Number ? loss.GetDouble() : double.NaN);
        }
        else if (entry.Type == "AlertRaised")
        {
            var kind = root.TryGetProperty("kind", out var k) ? k.GetString() : "alert";
            var message = root.TryGetProperty("message", out var m) ? m.GetString() : "";
            var step = root.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number ? $" at step {s.GetInt64()}" : "";
            _alerts.Add($"{entry.Timestamp[..Math.Min(19, entry.Timestamp.Length)]} {entry.Stage} {kind}{step}: {message}");
        }
    }
}
