using Jiniac.Contracts.Pipeline;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>The backend a stage's training.backend names.</summary>
internal static class TrainerBackends
{
    public static ITrainerBackend For(BackendSpec backend, TrainLauncherOptions options, TimeProvider time, ILogger logger) => backend.Kind switch
    {
        BackendSpec.Local => new LocalBackend(options, time),
        BackendSpec.Slurm => new SlurmBackend(backend, options, time, logger),
        BackendSpec.Kubernetes => throw new InvalidOperationException(
            "the kubernetes backend only renders a Job manifest (docs/kubernetes.md); the launcher does not submit it yet"),
        _ => throw new InvalidOperationException($"unknown training.backend.kind '{backend.Kind}'"),
    };
}
