using Jiniac.TrainLauncher.Backends;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher;

/// <summary>An operator's replay from a chosen checkpoint (LaunchTraining.ResumeFromStep, `jiniac replay --from-checkpoint`).</summary>
internal sealed partial class TrainingJob
{
    public const string ReplayedFolder = "replayed";

    /// <summary>
    /// The checkpoints after the chosen step (and a DONE.json) leave the lineage: moved, never deleted, to
    /// replayed/attempt-N, so the trainer resumes from the chosen one and writes those steps anew. Done once per attempt
    /// (a marker), so a re-issued launch of the same attempt keeps what that attempt has trained since.
    /// </summary>
    private void ApplyResumeFromStep(string dir, ITrainerAdapter adapter)
    {
        if (command.ResumeFromStep is not { } step)
        {
            return;
        }

        var archive = Path.Combine(dir, ReplayedFolder, $"attempt-{Attempt}");
        var marker = Path.Combine(archive, "APPLIED");
        if (File.Exists(marker))
        {
            return;
        }

        if (step != 0 && !adapter.Complete().Exists(c => c.Step == step))
        {
            throw new InvalidOperationException($"resume from step {step}: this stage has no complete checkpoint of the job at that step");
        }

        Directory.CreateDirectory(archive);
        var moved = adapter.SetAside(step, archive);
        _settledCheckpoints.ExceptWith(moved);
        var done = Path.Combine(dir, Checkpoints.DoneFile);
        if (File.Exists(done))
        {
            File.Move(done, Path.Combine(archive, Checkpoints.DoneFile), overwrite: true);
        }

        File.WriteAllText(marker, $"resume from step {step}; moved: {string.Join(' ', moved)}\n");
        ReplayedFrom(Logger, RunId, Stage, Attempt, step, moved.Count, archive);
    }

    [LoggerMessage(60, LogLevel.Information, "Training {RunId}/{Stage} attempt {Attempt}: replayed from step {Step}; {Moved} later checkpoint(s) moved out of the lineage to {Archive}")]
    private static partial void ReplayedFrom(ILogger logger, string runId, string stage, int attempt, long step, int moved, string archive);
}
