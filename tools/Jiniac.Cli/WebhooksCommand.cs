using System.Text.Json;
using Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Cli;

/// <summary>
/// `jiniac webhooks`: a sink's delivery log and dead letters (viewer), and sending dead letters again (operator) once
/// the receiver is fixed. SUB is a webhook subscription's id, or rabbitmq, dapr, pipeline:NAME (docs/integrations.md).
/// </summary>
internal static class WebhooksCommand
{
    private const string Usage = "usage: jiniac webhooks deliveries|dead-letters SUB [--run RUN] [--limit N] [--json] | jiniac webhooks resend SUB [--run RUN] [--event RUN:CURSOR ...] [--json]";

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var json = args.Flag("json");
        var run = args.Get("run") ?? "";
        var limit = args.GetInt("limit") ?? 0;
        var events = args.GetAll("event");
        args.RejectUnknown();
        if (args.Positionals is not [var verb, var subscription] || verb is not ("deliveries" or "dead-letters" or "resend"))
        {
            throw new CliException(Usage);
        }

        if (events.Count > 0 && verb != "resend")
        {
            throw new CliException($"--event: only for `webhooks resend`\n{Usage}");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var api = connection.Webhooks;
        var list = new ListDeliveriesRequest { SubscriptionId = subscription, RunId = run, Limit = limit };
        switch (verb)
        {
            case "deliveries":
                var deliveries = (await api.ListDeliveriesAsync(list)).Deliveries;
                Print(json, deliveries, d => $"{d.At} {d.EventId} {d.EventType} attempt {d.Attempt} {(d.Ok ? "ok" : "FAILED")} {(d.StatusCode == 0 ? "" : d.StatusCode)} {d.Error}".TrimEnd());
                break;
            case "dead-letters":
                var dead = (await api.ListDeadLettersAsync(list)).DeadLetters;
                Print(json, dead, d => $"{d.At} {d.EventId} {d.EventType} after {d.Attempts} attempts: {d.LastError}");
                break;
            default:
                var reply = await api.ResendDeadLettersAsync(new ResendDeadLettersRequest { SubscriptionId = subscription, RunId = run, EventIds = { events } });
                Console.WriteLine(json
                    ? JsonSerializer.Serialize(reply, StatusCommand.Json)
                    : $"{subscription}: {reply.Resent} dead letter(s) queued to be sent again (`jiniac webhooks deliveries {subscription}` shows how they went)");
                if (reply.Resent == 0 && events.Count > 0)
                {
                    return ExitCodes.NotFound; // a script named events that are not dead letters (any more)
                }

                break;
        }

        return ExitCodes.Ok;
    }

    private static void Print<T>(bool json, IEnumerable<T> items, Func<T, string> line)
    {
        foreach (var item in items)
        {
            Console.WriteLine(json ? JsonSerializer.Serialize(item, StatusCommand.Json) : line(item));
        }
    }
}
