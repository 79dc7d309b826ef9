using System.Diagnostics;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Pipeline;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Jiniac.Cli;

internal static class RunCommand
{
    private static readonly HashSet<string> Terminal = ["Completed", "Failed", "Cancelled"];

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var stateDir = Cli.StateDir(args);
        var runId = args.Get("run-id");
        var plain = args.Flag("plain") || !AnsiConsole.Profile.Capabilities.Interactive;
        args.RejectUnknown();
        if (args.Positionals is not [var pipelinePath])
        {
            throw new CliException("usage: jiniac run PIPELINE.yaml [--run-id ID] [--state-dir DIR]");
        }

        // A bad pipeline file is refused before anything starts.
        PipelineSpec spec;
        try
        {
            spec = PipelineLoader.Load(Path.GetFullPath(pipelinePath));
        }
        catch (PipelineValidationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (IOException e)
        {
            throw new CliException($"{pipelinePath}: {e.Message}");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: true, mustExist: false, default);
        var submitted = await connection.Client.SubmitRunAsync(new SubmitRunRequest { PipelinePath = spec.SourceFile, RunId = runId ?? "" });
        var verb = submitted.Created ? "started" : "continuing";
        Console.WriteLine($"jiniac: {verb} run '{submitted.RunId}' ({spec.Stages.Count} stages: {string.Join(" → ", spec.Stages.Select(s => s.Name))}); state in {stateDir}");
        if (Jiniac.Orchestrator.Dashboard.DashboardHosting.ReadAddress(stateDir) is { } dashboard) Console.WriteLine($"jiniac: dashboard at {dashboard}#/run/{submitted.RunId}");
        if (connection.OwnHost is null)
        {
            Console.WriteLine("jiniac: attached to the host already running on this state folder");
        }

        var stopping = connection.OwnHost?.Services.GetService(typeof(IHostApplicationLifetime)) is IHostApplicationLifetime lifetime
            ? lifetime.ApplicationStopping
            : CancellationToken.None;
        var clock = Stopwatch.StartNew();
        var view = plain
            ? await FollowPlainAsync(connection.Client, submitted.RunId, stopping)
            : await FollowLiveAsync(connection.Client, submitted.RunId, stopping);

        if (view is null || !Terminal.Contains(view.Status))
        {
            Console.WriteLine($"jiniac: stopped after {clock.Elapsed:hh\\:mm\\:ss}; run `jiniac run {pipelinePath}` again to continue where it left off");
            return 1;
        }

        Console.WriteLine();
        RunViewRenderer.WriteSummary(view, clock.Elapsed);
        return view.Status == "Completed" ? 0 : 1;
    }

    private static async Task<RunView?> FollowLiveAsync(ControlService.ControlServiceClient client, string runId, CancellationToken stopping)
    {
        RunView? view = null;
        await AnsiConsole.Live(new Spectre.Console.Text("starting…")).AutoClear(false).StartAsync(async ctx =>
        {
            while (!stopping.IsCancellationRequested)
            {
                view = await TryGetAsync(client, runId) ?? view;
                if (view is not null)
                {
                    ctx.UpdateTarget(RunViewRenderer.LiveTable(view));
                    ctx.Refresh();
                    if (Terminal.Contains(view.Status))
                    {
                        return;
                    }
                }

                await WaitAsync(TimeSpan.FromMilliseconds(500), stopping);
            }
        });
        return view;
    }

    private static async Task<RunView?> FollowPlainAsync(ControlService.ControlServiceClient client, string runId, CancellationToken stopping)
    {
        RunView? view = null;
        var lastKey = "";
        var lastPrint = Stopwatch.StartNew();
        while (!stopping.IsCancellationRequested)
        {
            view = await TryGetAsync(client, runId) ?? view;
            if (view is not null)
            {
                var key = RunViewRenderer.StatusKey(view);
                if (key != lastKey || lastPrint.Elapsed > TimeSpan.FromSeconds(10))
                {
                    Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {RunViewRenderer.PlainLine(view)}");
                    lastKey = key;
                    lastPrint.Restart();
                }

                if (Terminal.Contains(view.Status))
                {
                    break;
                }
            }

            await WaitAsync(TimeSpan.FromMilliseconds(500), stopping);
        }

        return view;
    }

    private static async Task<RunView?> TryGetAsync(ControlService.ControlServiceClient client, string runId)
    {
        try
        {
            return await client.GetRunAsync(new GetRunRequest { RunId = runId });
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled)
        {
            return null; // the host is shutting down
        }
    }

    private static async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
