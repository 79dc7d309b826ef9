using System.Globalization;
using System.Text.Json;
using Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Cli;

/// <summary>The write verbs: submit, replay, replay-shard, approve, cancel, publish. Each needs the operator role where keys are on.</summary>
internal static class OperatorCommands
{
    public static async Task<int> SubmitAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var runId = args.Get("run-id");
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var pipeline])
        {
            throw new CliException("usage: jiniac submit PIPELINE.yaml [--run-id ID] [--json] [--endpoint URL] [--api-key KEY]");
        }

        // The orchestrator reads the file itself (the same machine, or a path it shares), so it gets an absolute path.
        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: true, default);
        var reply = await connection.Client.SubmitRunAsync(new SubmitRunRequest { PipelinePath = Path.GetFullPath(pipeline), RunId = runId ?? "" });
        Print(json, reply, $"{reply.RunId}: {(reply.Created ? "submitted" : "already known, resumed")}; follow it with `jiniac watch {reply.RunId}`");
        return ExitCodes.Ok;
    }

    public static async Task<int> ReplayAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var reason = args.Get("reason") ?? $"replayed by {Environment.UserName} from the CLI";
        var from = args.GetLong("from-checkpoint");
        var skips = args.GetAll("skip-batches").Select(ParseRange).ToList();
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage])
        {
            throw new CliException("usage: jiniac replay RUN STAGE [--from-checkpoint STEP] [--skip-batches A:B ...] [--reason TEXT]");
        }

        var request = new ReplayStageRequest { RunId = run, Stage = stage, Reason = reason };
        if (from is { } step)
        {
            request.FromCheckpoint = step;
        }

        request.SkipBatches.AddRange(skips);
        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.ReplayStageAsync(request);
        Print(json, reply, $"{run}/{stage}: attempt {reply.Attempt}, {reply.Status}");
        NoteIdleHost(connection);
        return ExitCodes.Ok;
    }

    public static async Task<int> ReplayShardAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var reason = args.Get("reason") ?? $"shard replayed by {Environment.UserName} from the CLI";
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage, var shard])
        {
            throw new CliException("usage: jiniac replay-shard RUN STAGE SHARD [--reason TEXT]  (SHARD: its key or the first 8+ characters)");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.ReplayShardAsync(new ReplayShardRequest { RunId = run, Stage = stage, Shard = shard, Reason = reason });
        Print(json, reply, $"{run}/{stage}: shard {shard} tokenized again, attempt {reply.Attempt}, {reply.Status}");
        NoteIdleHost(connection);
        return ExitCodes.Ok;
    }

    public static async Task<int> ApproveAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var reason = args.Get("reason") ?? $"approved by {Environment.UserName} from the CLI";
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage])
        {
            throw new CliException("usage: jiniac approve RUN STAGE [--reason TEXT]");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.ApproveStageAsync(new ApproveStageRequest { RunId = run, Stage = stage, Reason = reason });
        Print(json, reply, $"{run}/{stage}: approved, {reply.Status}");
        NoteIdleHost(connection);
        return ExitCodes.Ok;
    }

    public static async Task<int> CancelAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var reason = args.Get("reason") ?? $"cancelled by {Environment.UserName} from the CLI";
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var run])
        {
            throw new CliException("usage: jiniac cancel RUN [--reason TEXT]");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.CancelRunAsync(new CancelRunRequest { RunId = run, Reason = reason });
        Print(json, reply, $"{run}: {reply.Status}");
        return ExitCodes.Ok;
    }

    public static async Task<int> PublishAsync(CliArgs args)
    {
        var target = ControlTarget.From(args);
        var json = args.Flag("json");
        args.RejectUnknown();
        if (args.Positionals is not [var run, var what])
        {
            throw new CliException("usage: jiniac publish RUN STAGE|STAGE/STEP  (a stage's final checkpoint, or the one at STEP)");
        }

        var request = new PublishCheckpointRequest { RunId = run, Stage = what };
        if (what.IndexOf('/') is var slash and > 0)
        {
            request.Stage = what[..slash];
            request.Step = long.TryParse(what[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var step)
                ? step
                : throw new CliException($"'{what}': expected STAGE or STAGE/STEP with STEP a whole number");
        }

        await using var connection = await ControlConnection.OpenAsync(target, mustBeLive: false, default);
        var reply = await connection.Client.PublishCheckpointAsync(request);
        Print(json, reply, $"{run}/{reply.Stage}: step {reply.Step} sent to the publisher (`jiniac events {run} --follow` shows ModelPublished)");
        NoteIdleHost(connection);
        return ExitCodes.Ok;
    }

    /// <summary>"A:B" — skip batches A to B-1, as the trainer contract's skip_batches [from, to).</summary>
    public static SkipRange ParseRange(string text)
    {
        var colon = text.IndexOf(':');
        if (colon > 0
            && long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            && long.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var to)
            && to > from)
        {
            return new SkipRange { From = from, To = to };
        }

        throw new CliException($"--skip-batches: '{text}' is not A:B with whole numbers A < B (skips batches A to B-1)");
    }

    private static void Print<T>(bool json, T reply, string line) =>
        Console.WriteLine(json ? JsonSerializer.Serialize(reply, StatusCommand.Json) : line);

    private static void NoteIdleHost(ControlConnection connection)
    {
        if (connection.OwnHost is not null)
        {
            Console.Error.WriteLine("jiniac: no host is running: `jiniac run` with the run's pipeline (or `jiniac serve`) carries it out");
        }
    }
}
