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

    /// <summary>The command of the next start; JOB.json (with resume_from) is already written.</summary>
    (string Program, IReadOnlyList<string> Arguments) Command();

    /// <summary>This job's complete checkpoints, by step.</summary>
    List<CheckpointInfo> Complete();

    /// <summary>Complete checkpoints whose folder name is not in <paramref name="settled"/> yet (they are added to it).</summary>
    List<CheckpointInfo> NewCheckpoints(HashSet<string> settled);

    (DoneFile Done, CheckpointInfo Checkpoint)? TryReadDone();

    /// <summary>Called once per exit, before DONE.json is looked for.</summary>
    TrainerVerdict Judge(int exitCode, bool stopRequested);
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

    public (string Program, IReadOnlyList<string> Arguments) Command() => (options.Trainer, ["train", "--job", Path.Combine(dir, TrainJobs.FileName)]);

    public List<CheckpointInfo> Complete() => Checkpoints.Complete(dir, _hash);

    public List<CheckpointInfo> NewCheckpoints(HashSet<string> settled)
    {
        var fresh = new List<CheckpointInfo>();
        var root = Path.Combine(dir, Checkpoints.Folder);
        if (!Directory.Exists(root))
        {
            return fresh;
        }

        foreach (var folder in Directory.EnumerateDirectories(root, "step_*"))
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
}
