using System.Globalization;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>The trainer as a child process of the launcher (TrainerProcess), with a pid file to find it again after a crash.</summary>
internal sealed class LocalBackend(TrainLauncherOptions options, TimeProvider time) : ITrainerBackend
{
    public const string BackendName = "local";

    public string Name => BackendName;

    public async Task<string?> EndOrphanAsync(string workingDirectory, CancellationToken cancellationToken) =>
        await TrainerProcess.EndOrphanAsync(Path.Combine(workingDirectory, TrainingJob.PidFile), options.StopTimeout, time, cancellationToken) is { } pid
            ? $"pid {pid.ToString(CultureInfo.InvariantCulture)}"
            : null;

    // A child of a host that has gone cannot be waited for: EndOrphanAsync stops it and the job resumes.
    public Task<ITrainerRun?> TryAttachAsync(string workingDirectory, CancellationToken cancellationToken) => Task.FromResult<ITrainerRun?>(null);

    public Task<ITrainerRun> StartAsync(TrainerLaunch launch, CancellationToken cancellationToken)
    {
        var process = TrainerProcess.Start(launch.Program, launch.Arguments, launch.WorkingDirectory, launch.LogFile, launch.Environment);
        var pidFile = Path.Combine(launch.WorkingDirectory, TrainingJob.PidFile);
        process.WritePidFile(pidFile);
        return Task.FromResult<ITrainerRun>(new LocalRun(process, pidFile));
    }

    private sealed class LocalRun(TrainerProcess process, string pidFile) : ITrainerRun
    {
        public string JobId { get; } = $"{BackendName}:{process.Pid.ToString(CultureInfo.InvariantCulture)}";

        public async Task<TrainerExit> WaitForExitAsync(CancellationToken cancellationToken)
        {
            var code = await process.WaitForExitAsync(cancellationToken);
            File.Delete(pidFile);
            return new TrainerExit(code, null);
        }

        public void Terminate() => process.Terminate();

        public void ForceKill() => process.ForceKill();

        public bool Detachable => false;

        public bool Queued => false;

        public void Dispose() => process.Dispose();
    }
}
