using Microsoft.Extensions.Options;

namespace Jiniac.Hosting;

/// <summary>The layout of the state folder. Every run/stage name that becomes a path is validated by <see cref="SafeName"/>.</summary>
public sealed class StatePaths(IOptions<JiniacOptions> options)
{
    public string Root { get; } = Path.GetFullPath(options.Value.StateDir);

    public string Blobs => Path.Combine(Root, "blobs");
    public string Grains => Path.Combine(Root, "grains");
    public string Journal => Path.Combine(Root, "journal");
    public string Hub => Path.Combine(Root, "hub");
    public string Temp => Path.Combine(Root, "tmp");
    /// <summary>Written by a live host: how to reach its control API.</summary>
    public string ControlEndpointFile => Path.Combine(Root, "control.json");
    public string LockFile => Path.Combine(Root, "host.lock");

    public string RunDir(string runId) => Path.Combine(Root, "runs", SafeName.Check(runId, "run id"));

    /// <summary>The trainer's output folder for a stage: metrics.jsonl, logs and checkpoints/.</summary>
    public string TrainDir(string runId, string stage) =>
        Path.Combine(RunDir(runId), "train", SafeName.Check(stage, "stage"));

    public string EvalDir(string runId, string stage, long step) =>
        Path.Combine(RunDir(runId), "eval", SafeName.Check(stage, "stage"), $"step_{step:D7}");
}
