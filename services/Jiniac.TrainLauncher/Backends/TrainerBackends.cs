using Jiniac.Contracts.Pipeline;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>The backend a stage's training.backend names.</summary>
internal static class TrainerBackends
{
    public static ITrainerBackend For(BackendSpec backend, TrainLauncherOptions options, string stateDir, TimeProvider time, ILogger logger) => backend.Kind switch
    {
        BackendSpec.Local => new LocalBackend(options, time),
        BackendSpec.Slurm => new SlurmBackend(backend, options, time, logger),
        BackendSpec.Kubernetes => new KubernetesManifestBackend(backend, stateDir),
        _ => throw new InvalidOperationException($"unknown training.backend.kind '{backend.Kind}'"),
    };
}

/// <summary>
/// Kubernetes, as far as it goes today: the stage's Job manifest is written into its folder and the launch fails
/// with a reason saying so. No cluster is reachable here, so nothing submits or follows the Job yet.
/// </summary>
internal sealed class KubernetesManifestBackend(BackendSpec backend, string stateDir) : ITrainerBackend
{
    public string Name => BackendSpec.Kubernetes;

    public Task<string?> EndOrphanAsync(string workingDirectory, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<ITrainerRun?> TryAttachAsync(string workingDirectory, CancellationToken cancellationToken) => Task.FromResult<ITrainerRun?>(null);

    public Task<ITrainerRun> StartAsync(TrainerLaunch launch, CancellationToken cancellationToken)
    {
        var (program, prefix) = TrainerProcess.Command(launch.Program);
        var path = Path.Combine(launch.WorkingDirectory, KubernetesJob.FileName);
        Jiniac.Hosting.AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(KubernetesJob.Render(launch, backend, stateDir, program, [.. prefix, .. launch.Arguments])));
        throw new InvalidOperationException(
            $"the kubernetes backend renders the stage's Job manifest but does not submit it: {path} is written; submit it with 'kubectl apply -f {path}' (docs/kubernetes.md)");
    }
}
