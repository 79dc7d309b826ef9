using Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Cli;

internal static class OperatorCommands
{
    public static async Task<int> ReplayAsync(CliArgs args)
    {
        var stateDir = Cli.StateDir(args);
        var reason = args.Get("reason") ?? $"replayed by {Environment.UserName} from the CLI";
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage])
        {
            throw new CliException("usage: jiniac replay RUN STAGE [--reason TEXT]");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: false, mustExist: true, default);
        var reply = await connection.Client.ReplayStageAsync(new ReplayStageRequest { RunId = run, Stage = stage, Reason = reason });
        Console.WriteLine($"{run}/{stage}: attempt {reply.Attempt}, {reply.Status}");
        if (connection.OwnHost is not null)
        {
            Console.WriteLine($"no host is running: `jiniac run` with the run's pipeline continues it");
        }

        return 0;
    }

    public static async Task<int> ApproveAsync(CliArgs args)
    {
        var stateDir = Cli.StateDir(args);
        var reason = args.Get("reason") ?? $"approved by {Environment.UserName} from the CLI";
        args.RejectUnknown();
        if (args.Positionals is not [var run, var stage])
        {
            throw new CliException("usage: jiniac approve RUN STAGE [--reason TEXT]");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: false, mustExist: true, default);
        var reply = await connection.Client.ApproveStageAsync(new ApproveStageRequest { RunId = run, Stage = stage, Reason = reason });
        Console.WriteLine($"{run}/{stage}: approved, {reply.Status}");
        if (connection.OwnHost is not null)
        {
            Console.WriteLine($"no host is running: `jiniac run` with the run's pipeline continues it");
        }

        return 0;
    }

    public static async Task<int> CancelAsync(CliArgs args)
    {
        var stateDir = Cli.StateDir(args);
        var reason = args.Get("reason") ?? $"cancelled by {Environment.UserName} from the CLI";
        args.RejectUnknown();
        if (args.Positionals is not [var run])
        {
            throw new CliException("usage: jiniac cancel RUN [--reason TEXT]");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: false, mustExist: true, default);
        var reply = await connection.Client.CancelRunAsync(new CancelRunRequest { RunId = run, Reason = reason });
        Console.WriteLine($"{run}: {reply.Status}");
        return 0;
    }
}
