using Jiniac.Contracts;
using Jiniac.Orchestrator.Tests;

namespace Jiniac.Integrations.Tests;

/// <summary>The train-launcher's side of a run, played by the test: checkpoint and progress events on the host's bus.</summary>
internal static class Events
{
    public static CheckpointSaved Checkpoint(string run, long step) => new()
    {
        RunId = run, Stage = "en", Attempt = 1, Step = step, Tokens = step * 1024, Loss = 5.0 - step / 100.0,
        Folder = $"/ckpt/{run}/step_{step:D7}", Bytes = 4096 + step,
    };

    public static TrainingProgressed Progress(string run, long step) => new()
    {
        RunId = run, Stage = "en", Attempt = 1, Step = step, TotalSteps = 100, Tokens = step * 1024, Loss = 5.0 - step / 100.0,
        LearningRate = 1e-3, GradNorm = 1.0, TokensPerSecond = 1000,
    };

    /// <summary>A run submitted to the host (its workers are recorders: nothing else happens unless the test says so).</summary>
    public static async Task SubmitAsync(OrchestratorHost host, string run, Contracts.Pipeline.PipelineSpec? spec = null)
    {
        var result = await host.Run(run).SubmitAsync(spec ?? Orchestrator.Tests.Pipelines.TwoStages(run));
        Assert.Null(result.Error);
    }
}
