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
        var from = args.GetLong("from") ?? 0;
        args.RejectUnknown();
        if (args.Positionals is not [var runId])
        {
            throw new CliException("usage: jiniac events RUN [--from CURSOR] [--follow] [--json]");
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, cancel.Token);
        using var call = connection.Client.WatchEvents(new WatchEventsRequest { RunId = runId, From = from, Follow = follow }, cancellationToken: cancel.Token);
        try
        {
            await foreach (var entry in call.ResponseStream.ReadAllAsync(cancel.Token))
            {
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
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
                    Console.WriteLine($"{entry.Sequence,6} {entry.Timestamp} {entry.Type}{stage} {entry.Json}");
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || cancel.IsCancellationRequested)
        {
        }

        return 0;
    }
}
