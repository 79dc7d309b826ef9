using System.Text.Json;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Cli;

internal static class EventsCommand
{
    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var json = args.Flag("json");
        var follow = args.Flag("follow");
        var fromText = args.Get("from");
        args.RejectUnknown();
        var request = args.Positionals switch
        {
            [var run] => new WatchEventsRequest { RunId = run, From = fromText is null ? 0 : args.GetLong("from")!.Value, Follow = follow },
            [] => new WatchEventsRequest { Follow = follow, Cursors = { ParseCursors(fromText) } },
            _ => throw new CliException(Usage),
        };
        var allRuns = request.RunId.Length == 0;

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, cancel.Token);
        using var call = connection.Client.WatchEvents(request, cancellationToken: cancel.Token);
        try
        {
            await foreach (var entry in call.ResponseStream.ReadAllAsync(cancel.Token))
            {
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        runId = entry.RunId,
                        sequence = entry.Sequence,
                        timestamp = entry.Timestamp,
                        type = entry.Type,
                        stage = entry.Stage.Length == 0 ? null : entry.Stage,
                        data = JsonDocument.Parse(entry.Json).RootElement,
                    }));
                }
                else
                {
                    var stage = entry.Stage.Length == 0 ? "" : $" [{entry.Stage}]";
                    var run = allRuns ? $"{entry.RunId} " : "";
                    Console.WriteLine($"{run}{entry.Sequence,6} {entry.Timestamp} {entry.Type}{stage} {entry.Json}");
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || cancel.IsCancellationRequested)
        {
        }

        return 0;
    }

    private const string Usage = "usage: jiniac events [RUN] [--from CURSOR] [--follow] [--json] (without RUN: every run; --from RUN=CURSOR,RUN=CURSOR...)";

    /// <summary>The all-runs cursor: RUN=SEQUENCE pairs, comma separated (each run's last seen sequence + 1); runs not named start at 0.</summary>
    private static Dictionary<string, long> ParseCursors(string? text)
    {
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (pair.Split('=') is not [var run, var value] || run.Length == 0 || !long.TryParse(value, out var next) || next < 0)
            {
                throw new CliException($"--from: '{pair}' is not RUN=CURSOR (without RUN, --from takes one cursor per run: run-a=12,run-b=40)");
            }

            cursors[run] = next;
        }

        return cursors;
    }
}
