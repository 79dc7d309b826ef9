using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.TrainLauncher.Backends;

namespace Jiniac.TrainLauncher.Megatron;

/// <summary>
/// Megatron-LM as a stage's trainer: flags rendered from the stage (MegatronArguments), progress read from its log
/// (MegatronLog), checkpoints from its save folder — the stage's <c>checkpoints/</c>, so a changed job moves them aside
/// like the reference trainer's — and its exits understood (MegatronExit). Megatron writes no DONE.json: the launcher
/// writes one when Megatron exits 0 with the tracker at --train-iters, so a relaunch finds the stage trained.
/// </summary>
internal sealed class MegatronTrainerAdapter : ITrainerAdapter
{
    private readonly LaunchTraining _command;
    private readonly string _dir;
    private readonly TrainJob _job;
    private readonly string _saveDir;
    private readonly MegatronPlan _plan;
    private readonly MegatronLogFollower _follower;

    public MegatronTrainerAdapter(LaunchTraining command, string dir, TrainJob job)
    {
        _command = command;
        _dir = dir;
        _job = job;
        _saveDir = Path.Combine(dir, Checkpoints.Folder);
        // Rendered once now to validate the stage (init checkpoint, batch sizes) before anything starts.
        _plan = MegatronArguments.Render(command, job.Data, _saveDir);
        _follower = new MegatronLogFollower(Path.Combine(dir, TrainingJob.LogFile), command.Training.SeqLength, _plan.GlobalBatchSize, _plan.IterationOffset);
    }

    public long TotalSteps => _plan.StageIters;

    public IMetricsSource Metrics => _follower;

    public (string Program, IReadOnlyList<string> Arguments) Command(IReadOnlyList<TrainJobRange> skipBatches)
    {
        // Rendered again: --load follows whether this stage has a checkpoint of its own by now, and
        // --skip-train-iteration-range the skip ranges, rollbacks' included (Megatron reads no JOB.json).
        var skips = skipBatches.Select(static r => new BatchRange { From = r.From, To = r.To }).ToList();
        var plan = MegatronArguments.Render(_command with { SkipBatches = skips }, _job.Data, _saveDir);
        return (plan.Command[0], plan.Command.Skip(1).ToList());
    }

    public List<CheckpointInfo> Complete() => [.. MegatronCheckpoints.Complete(_saveDir).Select(Info)];

    public List<CheckpointInfo> NewCheckpoints(HashSet<string> settled)
    {
        var fresh = new List<CheckpointInfo>();
        foreach (var checkpoint in MegatronCheckpoints.Complete(_saveDir))
        {
            if (settled.Add(Path.GetFileName(checkpoint.Folder)))
            {
                fresh.Add(Info(checkpoint));
            }
        }

        return fresh;
    }

    public (DoneFile Done, CheckpointInfo Checkpoint)? TryReadDone()
    {
        var done = Checkpoints.TryReadJson<MegatronDone>(Path.Combine(_dir, Checkpoints.DoneFile));
        if (done is not { Checkpoint: { Length: > 0 } folder } || !string.Equals(done.JobHash, _job.JobHash, StringComparison.Ordinal)
            || MegatronCheckpoints.TryOpen(folder) is not { } checkpoint || checkpoint.Iteration < _plan.TrainIters)
        {
            return null;
        }

        return (new DoneFile { Step = done.Step, Tokens = done.Tokens, Loss = done.Loss, Checkpoint = checkpoint.Folder }, Info(checkpoint));
    }

    public TrainerVerdict Judge(int exitCode, bool stopRequested)
    {
        var latest = MegatronCheckpoints.Latest(_saveDir);
        var kind = MegatronExit.Classify(exitCode, latest?.Iteration, _plan.TrainIters, stopRequested);
        var reason = MegatronExit.Describe(kind, exitCode);
        switch (kind)
        {
            case MegatronExitKind.Completed:
                var info = Info(latest!);
                var done = new MegatronDone { Step = info.Step, Tokens = info.Tokens, Loss = info.Loss, Checkpoint = info.Folder, JobHash = _job.JobHash };
                AtomicFile.Write(Path.Combine(_dir, Checkpoints.DoneFile), JsonSerializer.SerializeToUtf8Bytes(done));
                return TrainerVerdict.Plain;
            case MegatronExitKind.Requeue:
                return new TrainerVerdict { Requeue = true, Reason = reason };
            case MegatronExitKind.ValidationFailed:
                return new TrainerVerdict { Fatal = reason, Reason = reason };
            default:
                return new TrainerVerdict { Reason = kind == MegatronExitKind.Crashed ? reason : null };
        }
    }

    public List<string> SetAside(long keepStep, string archive)
    {
        // Megatron resumes from what the tracker names: it is pointed back at the newest checkpoint kept, or removed
        // when none of this stage's is (the next start then loads the stage's init again).
        var moved = new List<string>();
        var kept = (MegatronCheckpoint?)null;
        foreach (var checkpoint in MegatronCheckpoints.Complete(_saveDir))
        {
            if (checkpoint.Release || checkpoint.Iteration - _plan.IterationOffset <= keepStep)
            {
                kept = checkpoint;
                continue;
            }

            var name = Path.GetFileName(checkpoint.Folder);
            Directory.CreateDirectory(archive);
            Directory.Move(checkpoint.Folder, Path.Combine(archive, name));
            moved.Add(name);
        }

        if (moved.Count > 0)
        {
            var tracker = Path.Combine(_saveDir, MegatronCheckpoints.Tracker);
            if (kept is null)
            {
                File.Move(tracker, Path.Combine(archive, MegatronCheckpoints.Tracker), overwrite: true);
            }
            else
            {
                AtomicFile.Write(tracker, Encoding.ASCII.GetBytes(kept.Iteration.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return moved;
    }

    private CheckpointInfo Info(MegatronCheckpoint checkpoint)
    {
        var step = checkpoint.Iteration - _plan.IterationOffset;
        return new CheckpointInfo(checkpoint.Folder, step, step * _plan.GlobalBatchSize * _command.Training.SeqLength,
            _follower.LossAt(checkpoint.Iteration) ?? double.NaN, _job.JobHash);
    }

    private sealed record MegatronDone
    {
        [JsonPropertyName("step")] public long Step { get; init; }
        [JsonPropertyName("tokens")] public long Tokens { get; init; }
        [JsonPropertyName("loss")] public double Loss { get; init; }
        [JsonPropertyName("checkpoint")] public string? Checkpoint { get; init; }
        [JsonPropertyName("job_hash")] public string? JobHash { get; init; }
    }
}

/// <summary>
/// Follows trainer.log by byte offset for Megatron's progress lines; only whole lines are read, anything that is not
/// a progress line is passed over. Remembers each iteration's loss, which a checkpoint's report carries.
/// </summary>
internal sealed class MegatronLogFollower(string path, int seqLength, long globalBatchSize, long iterationOffset) : IMetricsSource
{
    private readonly Dictionary<long, double> _losses = [];
    private long _offset;

    public double? LossAt(long iteration) => _losses.TryGetValue(iteration, out var loss) ? loss : null;

    public void SkipExisting()
    {
        // Earlier starts' lines still give their iterations' losses; they are just not reported again.
        long before;
        do
        {
            before = _offset;
            _ = ReadNew();
        }
        while (_offset != before);
    }

    public List<MetricsLine> ReadNew()
    {
        var lines = new List<MetricsLine>();
        byte[] bytes;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length < _offset)
            {
                _offset = 0;
            }

            var count = (int)Math.Min(file.Length - _offset, 16 << 20);
            if (count <= 0)
            {
                return lines;
            }

            bytes = new byte[count];
            file.Position = _offset;
            file.ReadExactly(bytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return lines;
        }

        var end = Array.LastIndexOf(bytes, (byte)'\n');
        if (end < 0)
        {
            return lines;
        }

        _offset += end + 1;
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
        {
            if (MegatronLog.TryParse(line) is { } progress)
            {
                var metrics = MegatronLog.ToMetrics(progress, seqLength, globalBatchSize, iterationOffset);
                if (progress.LmLoss is { } loss)
                {
                    _losses[progress.Iteration] = loss;
                }

                lines.Add(metrics);
            }
        }

        return lines;
    }
}
