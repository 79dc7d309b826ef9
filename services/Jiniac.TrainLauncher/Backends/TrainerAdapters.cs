using System.Globalization;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.TrainLauncher.Megatron;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>Where the launcher reads a trainer's progress from: metrics.jsonl (the contract), Megatron's log, …</summary>
internal interface IMetricsSource
{
    /// <summary>Starts after what is already there (lines of an earlier start of this job were reported then).</summary>
    void SkipExisting();

    List<MetricsLine> ReadNew();
}

/// <summary>What the launcher makes of an exit, beyond "done" (DONE.json) and "crashed" (resume, counted).</summary>
internal sealed record TrainerVerdict
{
    public static readonly TrainerVerdict Plain = new();

    /// <summary>A planned exit to be started again from its latest checkpoint, not counted against max_restarts.</summary>
    public bool Requeue { get; init; }

    /// <summary>Set when restarting cannot help: the stage fails with this reason at once.</summary>
    public string? Fatal { get; init; }

    /// <summary>What happened, for the alert or failure message; null = say the exit code.</summary>
    public string? Reason { get; init; }
}

/// <summary>
/// What a trainer is: how it is invoked, where its metrics and checkpoints are, how its exits read. The reference
/// trainer (docs/trainer-contract.md) and Megatron-LM (its adapter) differ only in these; the follow-up is shared.
/// </summary>
internal interface ITrainerAdapter
{
    long TotalSteps { get; }

    IMetricsSource Metrics { get; }

    /// <summary>
    /// The command of the next start; JOB.json (with resume_from and <paramref name="skipBatches"/>) is already written.
    /// The skip ranges are the command's plus those loss-spike rollbacks added, which a trainer without JOB.json needs as flags.
    /// </summary>
    (string Program, IReadOnlyList<string> Arguments) Command(IReadOnlyList<TrainJobRange> skipBatches);

    /// <summary>This job's complete checkpoints, by step.</summary>
    List<CheckpointInfo> Complete();

    /// <summary>Complete checkpoints whose folder name is not in <paramref name="settled"/> yet (they are added to it).</summary>
    List<CheckpointInfo> NewCheckpoints(HashSet<string> settled);

    (DoneFile Done, CheckpointInfo Checkpoint)? TryReadDone();

    /// <summary>Called once per exit, before DONE.json is looked for.</summary>
    TrainerVerdict Judge(int exitCode, bool stopRequested);

    /// <summary>
    /// A loss-spike rollback: this job's checkpoints after <paramref name="keepStep"/> are moved (kept) into
    /// <paramref name="archive"/>, so no resume picks them and the trainer can write those steps anew. Returns the
    /// folder names moved (as <see cref="NewCheckpoints"/> settles them).
    /// </summary>
    List<string> SetAside(long keepStep, string archive);
}

internal static class TrainerAdapters
{
    public static ITrainerAdapter For(LaunchTraining command, string dir, TrainJob job, TrainLauncherOptions options) => command.Training.Trainer.Kind switch
    {
        TrainerSpec.Reference => new ReferenceTrainerAdapter(dir, job, options),
        TrainerSpec.Megatron => new MegatronTrainerAdapter(command, dir, job),
        var kind => throw new InvalidOperationException($"unknown training.trainer.kind '{kind}'"),
    };
}

/// <summary>The generic trainer contract: JOB.json in, metrics.jsonl, checkpoints/step_NNNNNNN with COMPLETE, DONE.json.</summary>
internal sealed class ReferenceTrainerAdapter(string dir, TrainJob job, TrainLauncherOptions options) : ITrainerAdapter
{
    private readonly string _hash = job.JobHash!;

    public long TotalSteps { get; } = TrainJobs.TotalSteps(job.Train.TrainTokens, job.Train.MicroBatchSize, job.Train.SeqLength);

    public IMetricsSource Metrics { get; } = new MetricsFollower(Path.Combine(dir, TrainingJob.MetricsFile));

    // The reference trainer reads its skip ranges from JOB.json.
    public (string Program, IReadOnlyList<string> Arguments) Command(IReadOnlyList<TrainJobRange> skipBatches) =>
        (options.Trainer, ["train", "--job", Path.Combine(dir, TrainJobs.FileName)]);

    public List<CheckpointInfo> Complete() => Checkpoints.Complete(dir, _hash);

    public List<CheckpointInfo> NewCheckpoints(HashSet<string> settled)
    {
        var fresh = new List<CheckpointInfo>();
        foreach (var folder in StepFolders())
        {
            var name = Path.GetFileName(folder);
            if (settled.Contains(name) || Checkpoints.TryRead(folder) is not { } checkpoint)
            {
                // Settled already, or not complete (yet): a checkpoint without COMPLETE does not exist.
                continue;
            }

            // Another job's checkpoint is never reported; it is looked at again in case this job's trainer replaces it.
            if (string.Equals(checkpoint.JobHash, _hash, StringComparison.Ordinal))
            {
                settled.Add(name);
                fresh.Add(checkpoint);
            }
        }

        fresh.Sort(static (a, b) => a.Step.CompareTo(b.Step));
        return fresh;
    }

    public (DoneFile Done, CheckpointInfo Checkpoint)? TryReadDone() => Checkpoints.TryReadDone(dir, _hash);

    public TrainerVerdict Judge(int exitCode, bool stopRequested) => TrainerVerdict.Plain;

    public List<string> SetAside(long keepStep, string archive)
    {
        var moved = new List<string>();
        foreach (var folder in StepFolders())
        {
            var name = Path.GetFileName(folder);
            if (long.TryParse(name.AsSpan("step_".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step) && step > keepStep)
            {
                Directory.CreateDirectory(archive);
                Directory.Move(folder, Path.Combine(archive, name));
                moved.Add(name);
            }
        }

        return moved;
    }

    private string[] StepFolders()
    {
        var root = Path.Combine(dir, Checkpoints.Folder);
        return Directory.Exists(root) ? Directory.GetDirectories(root, "step_*") : [];
    }
}
