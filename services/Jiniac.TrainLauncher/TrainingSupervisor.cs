using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.TrainLauncher;

public enum LaunchOutcome
{
    /// <summary>A job was started in the background (it may still find the stage already trained and only republish).</summary>
    Started,
    /// <summary>This (run, stage, attempt) is already running.</summary>
    AlreadyRunning,
    /// <summary>A newer attempt of the stage is running; the command is stale.</summary>
    Stale,
    /// <summary>The host is shutting down.</summary>
    ShuttingDown,
}

/// <summary>
/// Owns every trainer this process runs, one job per (run, stage). Consumers hand work to it and return at
/// once; each job runs on its own task (render JOB.json, start, follow, resume after crashes). On host
/// shutdown every trainer is SIGTERMed and awaited (bounded), so the next start resumes from its checkpoint.
/// </summary>
public sealed class TrainingSupervisor(
    IOptions<TrainLauncherOptions> options,
    StatePaths paths,
    IBlobStore blobs,
    IBus bus,
    TimeProvider time,
    ILogger<TrainingSupervisor> logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string RunId, string Stage), TrainingJob> _jobs = [];
    private readonly CancellationTokenSource _shutdown = new();
    private bool _stopping;

    internal TrainLauncherOptions Options => options.Value;
    internal StatePaths Paths => paths;
    internal IBlobStore Blobs => blobs;
    internal IBus Bus => bus;
    internal TimeProvider Time => time;
    internal ILogger Logger => logger;
    internal CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>The attempts running now, by (run, stage).</summary>
    public IReadOnlyDictionary<(string RunId, string Stage), int> Running
    {
        get
        {
            lock (_lock)
            {
                var running = new Dictionary<(string, string), int>();
                foreach (var (key, job) in _jobs)
                {
                    if (!job.Completion.IsCompleted)
                    {
                        running[key] = job.Attempt;
                    }
                }

                return running;
            }
        }
    }

    public LaunchOutcome Launch(LaunchTraining command)
    {
        // Validate names now: a bad one fails the command, not a background task.
        _ = paths.TrainDir(command.RunId, command.Stage);
        var key = (command.RunId, command.Stage);
        lock (_lock)
        {
            if (_stopping)
            {
                return LaunchOutcome.ShuttingDown;
            }

            Task previous = Task.CompletedTask;
            if (_jobs.TryGetValue(key, out var running) && !running.Completion.IsCompleted)
            {
                if (running.Attempt == command.Attempt)
                {
                    Log.AlreadyRunning(logger, command.RunId, command.Stage, command.Attempt);
                    return LaunchOutcome.AlreadyRunning;
                }

                if (running.Attempt > command.Attempt)
                {
                    Log.StaleAttempt(logger, command.RunId, command.Stage, command.Attempt, running.Attempt);
                    return LaunchOutcome.Stale;
                }

                // A newer attempt replaces the running one; it starts once the old trainer has saved and exited.
                running.RequestStop($"superseded by attempt {command.Attempt}", shutdown: false);
                previous = running.Completion;
            }

            var job = new TrainingJob(this, command);
            _jobs[key] = job;
            job.Start(previous);
            return LaunchOutcome.Started;
        }
    }

    /// <summary>SIGTERMs the stage's trainer (no restart follows). False when nothing of that attempt or older runs.</summary>
    public bool Stop(StopTraining command)
    {
        lock (_lock)
        {
            if (_jobs.TryGetValue((command.RunId, command.Stage), out var job) && !job.Completion.IsCompleted && job.Attempt <= command.Attempt)
            {
                job.RequestStop(command.Reason, shutdown: false);
                return true;
            }
        }

        Log.NothingToStop(logger, command.RunId, command.Stage, command.Attempt);
        return false;
    }

    internal void Forget(TrainingJob job)
    {
        lock (_lock)
        {
            if (_jobs.TryGetValue((job.RunId, job.Stage), out var current) && ReferenceEquals(current, job))
            {
                _jobs.Remove((job.RunId, job.Stage));
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<Task> running = [];
        lock (_lock)
        {
            _stopping = true;
            foreach (var job in _jobs.Values)
            {
                job.RequestStop("host shutdown", shutdown: true);
                running.Add(job.Completion);
            }
        }

        await _shutdown.CancelAsync();
        try
        {
            await Task.WhenAll(running).WaitAsync(options.Value.StopTimeout, time, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Log.ShutdownTimedOut(logger, options.Value.StopTimeout);
        }
    }

    public void Dispose() => _shutdown.Dispose();
}
