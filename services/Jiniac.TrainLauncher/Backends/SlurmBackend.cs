using System.Globalization;
using System.Text.Json;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>
/// The trainer as a Slurm batch job: a rendered sbatch script, submitted with <c>sbatch --parsable</c>, followed
/// with <c>squeue</c> and, once it has left the queue, <c>scontrol show job</c> (no accounting needed); stopped with
/// <c>scancel --signal=TERM</c> and a plain <c>scancel</c> after the stop timeout. The stage folder must be on a
/// filesystem both the launcher and the nodes see: metrics and checkpoints are followed there, as for a local trainer.
/// </summary>
internal sealed class SlurmBackend(BackendSpec backend, TrainLauncherOptions options, TimeProvider time, ILogger logger) : ITrainerBackend
{
    public const string BackendName = "slurm";
    public const string JobFile = "slurm.job";
    public const string ScriptFile = "slurm.sbatch";

    private readonly SlurmCli _cli = new(options.Slurm);

    public string Name => BackendName;

    public async Task<string?> EndOrphanAsync(string workingDirectory, CancellationToken cancellationToken)
    {
        var file = Path.Combine(workingDirectory, JobFile);
        if (Checkpoints.TryReadJson<JobRecord>(file) is not { JobId: { Length: > 0 } jobId })
        {
            return null;
        }

        if (await QueueStateAsync(jobId, cancellationToken) is null)
        {
            File.Delete(file);
            return null;
        }

        using var run = new SlurmRun(this, jobId, workingDirectory, file);
        run.Terminate();
        await run.WaitForExitAsync(cancellationToken);
        return $"Slurm job {jobId}";
    }

    public async Task<ITrainerRun?> TryAttachAsync(string workingDirectory, CancellationToken cancellationToken)
    {
        var file = Path.Combine(workingDirectory, JobFile);
        if (Checkpoints.TryReadJson<JobRecord>(file) is not { JobId: { Length: > 0 } jobId } || await QueueStateAsync(jobId, cancellationToken) is null)
        {
            return null;
        }

        BackendLog.Attached(logger, jobId, workingDirectory);
        return new SlurmRun(this, jobId, workingDirectory, file);
    }

    public async Task<ITrainerRun> StartAsync(TrainerLaunch launch, CancellationToken cancellationToken)
    {
        var (program, prefix) = TrainerProcess.Command(launch.Program);
        var script = SlurmScript.Render(launch, backend, program, [.. prefix, .. launch.Arguments]);
        var scriptFile = Path.Combine(launch.WorkingDirectory, ScriptFile);
        AtomicFile.Write(scriptFile, System.Text.Encoding.UTF8.GetBytes(script));
        var result = await _cli.RunAsync("sbatch", ["--parsable", scriptFile], cancellationToken);
        // --parsable prints "jobid" or "jobid;cluster".
        var jobId = result.Output.Trim().Split(';')[0];
        if (result.ExitCode != 0 || jobId.Length == 0 || !jobId.All(char.IsAsciiDigit))
        {
            throw new InvalidOperationException($"sbatch refused {scriptFile} (exit {result.ExitCode.ToString(CultureInfo.InvariantCulture)}): {result.Error.Trim()}{result.Output.Trim()}");
        }

        var jobFile = Path.Combine(launch.WorkingDirectory, JobFile);
        AtomicFile.Write(jobFile, JsonSerializer.SerializeToUtf8Bytes(new JobRecord { JobId = jobId }));
        BackendLog.Submitted(logger, launch.Command.RunId, launch.Command.Stage, jobId, scriptFile);
        return new SlurmRun(this, jobId, launch.WorkingDirectory, jobFile);
    }

    /// <summary>
    /// The job's state while squeue lists it (PENDING, RUNNING, COMPLETING, …); null once it has left the queue;
    /// <see cref="Unreachable"/> when slurmctld could not be asked.
    /// </summary>
    internal async Task<string?> QueueStateAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await _cli.RunAsync("squeue", ["-h", "-j", jobId, "-o", "%T"], cancellationToken);
        var state = QueueState(result);
        if (state == Unreachable)
        {
            BackendLog.QueueUnreachable(logger, jobId, result.Error.Trim());
        }

        return state;
    }

    /// <summary>A controller that does not answer is not a job that ended: following goes on (a restart would run the job twice).</summary>
    public const string Unreachable = "UNREACHABLE";

    internal static string? QueueState(SlurmCli.Result result)
    {
        var state = result.Output.Trim();
        if (result.ExitCode == 0)
        {
            // A finished job is simply not listed.
            return state.Length > 0 ? state.Split('\n')[0].Trim() : null;
        }

        // A job gone from slurmctld's memory is "Invalid job id specified"; anything else is a failure to ask.
        return result.Error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ? null : Unreachable;
    }

    /// <summary>JobState and ExitCode ("code:signal") from <c>scontrol show job -o</c>; null when slurmctld no longer knows the job.</summary>
    internal async Task<(string State, int? ExitCode, int? Signal, string? Reason)?> FinalStateAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await _cli.RunAsync("scontrol", ["show", "job", "-o", jobId], cancellationToken);
        if (result.ExitCode == 0 && ParseJob(result.Output) is { } job)
        {
            return job;
        }

        // slurmctld forgets a job MinJobAge after its end; where accounting runs (slurmdbd), sacct still knows it.
        // Without accounting sacct fails ("accounting storage is disabled") and the exit-code file is all there is.
        var accounting = await _cli.RunAsync("sacct", ["-n", "-P", "-X", "-j", jobId, "-o", "State,ExitCode"], cancellationToken);
        return accounting.ExitCode == 0 ? ParseAccounting(accounting.Output) : null;
    }

    /// <summary>sacct -n -P -X -o State,ExitCode: "NODE_FAIL|0:0" (a cancelled job reads "CANCELLED by 0").</summary>
    internal static (string State, int? ExitCode, int? Signal, string? Reason)? ParseAccounting(string output)
    {
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (line?.Split('|') is not [var state, var exit] || state.Length == 0)
        {
            return null;
        }

        var parsed = ParseJob($"JobState={state.Split(' ')[0]} ExitCode={exit}");
        return parsed;
    }

    internal static (string State, int? ExitCode, int? Signal, string? Reason)? ParseJob(string line)
    {
        string? state = null;
        string? reason = null;
        int? code = null;
        int? signal = null;
        foreach (var field in line.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var (name, value) = (field[..equals], field[(equals + 1)..]);
            switch (name)
            {
                case "JobState":
                    state = value;
                    break;
                case "Reason":
                    reason = value;
                    break;
                case "ExitCode" when value.Split(':') is [var c, var s]:
                    code = int.TryParse(c, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsedCode) ? parsedCode : null;
                    signal = int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsedSignal) ? parsedSignal : null;
                    break;
            }
        }

        return state is null ? null : (state, code, signal, reason);
    }

    /// <summary>
    /// The trainer's exit as the launcher understands it. The exit-code file the batch script writes is the trainer's
    /// own status; Slurm's JobState adds what no exit code says: the node failed, the job was preempted or timed out.
    /// </summary>
    internal static TrainerExit Interpret(string jobId, (string State, int? ExitCode, int? Signal, string? Reason)? final, int? fileCode)
    {
        var state = final?.State;
        var described = $"Slurm job {jobId} ended {state ?? "(no longer known to slurmctld)"}";
        return state switch
        {
            // The trainer saved and exited on a SIGTERM the launcher did not send: Slurm's time-limit warning
            // (--signal=B:TERM@N), a preemption notice or an operator's scancel --signal=TERM. Started again, not a crash.
            _ when fileCode == TrainerProcess.ExitStopped => new TrainerExit(fileCode.Value, $"{described}: the trainer saved and exited on SIGTERM (time-limit warning, preemption or scancel)") { Requeue = true },
            "NODE_FAIL" => new TrainerExit(fileCode ?? -1, $"{described}: its node failed; resuming from the latest complete checkpoint"),
            "BOOT_FAIL" => new TrainerExit(fileCode ?? -1, $"{described}: its node did not boot"),
            "PREEMPTED" => new TrainerExit(fileCode ?? -1, $"{described}: preempted"),
            "TIMEOUT" => new TrainerExit(fileCode ?? -1, $"{described}: it reached its time limit"),
            "OUT_OF_MEMORY" => new TrainerExit(fileCode ?? -1, $"{described}: out of memory"),
            "DEADLINE" => new TrainerExit(fileCode ?? -1, $"{described}: it reached its deadline"),
            "CANCELLED" when fileCode is null => new TrainerExit(-1, $"{described} before the trainer exited (scancel)"),
            _ when fileCode is { } code => new TrainerExit(code, null),
            "COMPLETED" or "FAILED" when final?.ExitCode is { } code => new TrainerExit(code, null),
            _ => new TrainerExit(-1, $"{described}{(final?.Reason is { Length: > 0 } r && r != "None" ? $" ({r})" : "")} without an exit code"),
        };
    }

    internal Task<SlurmCli.Result> CancelAsync(string jobId, bool graceful) =>
        _cli.RunAsync("scancel", graceful ? ["--signal=TERM", jobId] : [jobId], CancellationToken.None);

    internal TrainLauncherOptions Options => options;
    internal TimeProvider Time => time;
    internal ILogger Logger => logger;

    private sealed record JobRecord
    {
        public string? JobId { get; init; }
    }
}

/// <summary>One submitted Slurm job, followed until it has left the queue.</summary>
internal sealed class SlurmRun(SlurmBackend backend, string jobId, string workingDirectory, string jobFile) : ITrainerRun
{
    private readonly CancellationTokenSource _disposed = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _terminating;
    private volatile bool _queued = true;

    public string JobId { get; } = $"{SlurmBackend.BackendName}:{jobId}";

    public async Task<TrainerExit> WaitForExitAsync(CancellationToken cancellationToken)
    {
        // Disposing the run (a detach at host shutdown) ends the following, not the job.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        cancellationToken = linked.Token;
        try
        {
            var interval = backend.Options.Slurm.PollInterval;
            while (await backend.QueueStateAsync(jobId, cancellationToken) is { } state)
            {
                _queued = state is "PENDING" or "CONFIGURING";
                await Task.Delay(interval, backend.Time, cancellationToken);
            }

            _queued = false;

            var final = await backend.FinalStateAsync(jobId, cancellationToken);
            var exit = SlurmBackend.Interpret(jobId, final, ReadExitFile());
            BackendLog.JobEnded(backend.Logger, jobId, final?.State ?? "unknown", exit.ExitCode);
            File.Delete(jobFile);
            return exit;
        }
        finally
        {
            _ended.TrySetResult();
        }
    }

    public void Terminate()
    {
        if (Interlocked.Exchange(ref _terminating, 1) != 0)
        {
            return;
        }

        // Taken now: the run may be disposed (its job followed to the end) before the task below looks.
        var disposed = _disposed.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                // A pending job has no step to signal: it is just removed.
                var state = await backend.QueueStateAsync(jobId, CancellationToken.None);
                await backend.CancelAsync(jobId, graceful: state is not ("PENDING" or "CONFIGURING" or null));
                var timeout = Task.Delay(backend.Options.StopTimeout, backend.Time, disposed);
                if (await Task.WhenAny(_ended.Task, timeout) == timeout && !_ended.Task.IsCompleted)
                {
                    BackendLog.Killing(backend.Logger, jobId, backend.Options.StopTimeout);
                    await backend.CancelAsync(jobId, graceful: false);
                }
            }
            catch (OperationCanceledException)
            {
                // Disposed: the job has been followed to its end.
            }
            catch (Exception e)
            {
                BackendLog.CancelFailed(backend.Logger, jobId, e);
            }
        });
    }

    public void ForceKill() => _ = backend.CancelAsync(jobId, graceful: false);

    public bool Detachable => true;

    public bool Queued => _queued;

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }

    private int? ReadExitFile()
    {
        try
        {
            var text = File.ReadAllText(SlurmScript.ExitFile(workingDirectory, jobId)).Trim();
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
