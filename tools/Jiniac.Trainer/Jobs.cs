using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Formats.HuggingFace;

namespace Jiniac.Trainer;

/// <summary>JOB.json of docs/trainer-contract.md (snake_case).</summary>
public sealed record TrainJob
{
    public required LlamaConfig Model { get; init; }
    public required IReadOnlyList<DataSource> Data { get; init; }
    public string? InitFrom { get; init; }
    public string? ResumeFrom { get; init; }
    public required string OutputDir { get; init; }
    public required TrainSettings Train { get; init; }
    public IReadOnlyList<BatchRange> SkipBatches { get; init; } = [];

    /// <summary>Opt-in fault injection (docs/trainer-contract.md); not part of the job's identity.</summary>
    public IReadOnlyList<FaultSpec> Faults { get; init; } = [];

    /// <summary>The launcher's identity of this job (docs/trainer-contract.md); when absent the trainer derives one.</summary>
    public string? JobHash { get; init; }

    public long TotalSteps => (Train.TrainTokens + ((long)Train.MicroBatchSize * Train.SeqLength) - 1) / ((long)Train.MicroBatchSize * Train.SeqLength);

    /// <summary>
    /// Identifies what is being trained (model, data, hyper-parameters) — not where from or what to skip,
    /// which a replay may change — so a resume can tell a checkpoint of another job.
    /// </summary>
    public string Hash()
    {
        if (!string.IsNullOrEmpty(JobHash))
        {
            return JobHash;
        }

        var identity = new { model = Model, data = Data, train = Train };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(identity, JobJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public bool IsSkipped(long step)
    {
        foreach (var range in SkipBatches)
        {
            if (step >= range.From && step < range.To)
            {
                return true;
            }
        }

        return false;
    }

    public void Validate()
    {
        Model.Validate();
        if (Data.Count == 0)
        {
            throw new InvalidDataException("data: at least one dataset is needed");
        }

        foreach (var d in Data)
        {
            if (!(d.Weight > 0) || string.IsNullOrWhiteSpace(d.Prefix))
            {
                throw new InvalidDataException($"data: weight must be positive and prefix set ({d.Prefix}, {d.Weight})");
            }
        }

        foreach (var fault in Faults)
        {
            if (!FaultSpec.Kinds.Contains(fault.Kind) || fault.Step < 1 || !double.IsFinite(fault.Scale))
            {
                throw new InvalidDataException($"faults: kind must be one of {string.Join(", ", FaultSpec.Kinds)}, step ≥ 1 and scale finite ({fault.Kind} at {fault.Step})");
            }
        }

        if (InitFrom is not null && ResumeFrom is not null)
        {
            throw new InvalidDataException("init_from and resume_from exclude each other");
        }

        var t = Train;
        if (t.SeqLength <= 0 || t.MicroBatchSize <= 0 || t.TrainTokens <= 0)
        {
            throw new InvalidDataException("train: seq_length, micro_batch_size and train_tokens must be positive");
        }

        if (t.SeqLength > Model.MaxPositionEmbeddings)
        {
            throw new InvalidDataException($"train.seq_length {t.SeqLength} exceeds model.max_position_embeddings {Model.MaxPositionEmbeddings}");
        }

        if (!(t.Lr > 0) || t.MinLr < 0 || t.MinLr > t.Lr || t.WarmupSteps < 0 || t.WeightDecay < 0
            || !(t.Beta1 is >= 0 and < 1) || !(t.Beta2 is >= 0 and < 1) || t.CheckpointInterval <= 0 || t.LogInterval <= 0 || t.Threads < 0)
        {
            throw new InvalidDataException("train: lr > 0, 0 ≤ min_lr ≤ lr, warmup_steps ≥ 0, weight_decay ≥ 0, betas in [0, 1), checkpoint_interval and log_interval > 0, threads ≥ 0");
        }

        if (t.ScheduleOffset < 0 || (t.ScheduleTotalSteps != 0 && t.ScheduleTotalSteps < t.ScheduleOffset + TotalSteps)
            || (t.ScheduleTotalSteps == 0 && t.ScheduleOffset != 0))
        {
            throw new InvalidDataException($"train: schedule_offset ≥ 0 and, when either is set, schedule_total_steps ≥ schedule_offset + the job's {TotalSteps} steps ({t.ScheduleOffset}, {t.ScheduleTotalSteps})");
        }
    }
}

public sealed record DataSource
{
    public required double Weight { get; init; }
    public required string Prefix { get; init; }
}

public sealed record TrainSettings
{
    public required int SeqLength { get; init; }
    public required int MicroBatchSize { get; init; }
    public required long TrainTokens { get; init; }
    public required double Lr { get; init; }
    public double MinLr { get; init; }
    public int WarmupSteps { get; init; }
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    /// <summary>Global-norm clipping threshold; 0 turns clipping off (the norm is still reported).</summary>
    public double GradClip { get; init; } = 1.0;
    public long Seed { get; init; } = 1234;
    public int CheckpointInterval { get; init; } = 1000;
    public int LogInterval { get; init; } = 1;
    /// <summary>0 = one per processor.</summary>
    public int Threads { get; init; }
    /// <summary>Steps of the learning-rate schedule before this job's first (a stage continuing the previous stage's schedule).</summary>
    public long ScheduleOffset { get; init; }
    /// <summary>Steps the learning-rate schedule spans; 0 = this job's own steps.</summary>
    public long ScheduleTotalSteps { get; init; }
}

/// <summary>Half-open range [from, to) of step numbers (1-based, as metrics.jsonl counts them).</summary>
public sealed record BatchRange
{
    public required long From { get; init; }
    public required long To { get; init; }
}

/// <summary>EVAL.json of docs/trainer-contract.md.</summary>
public sealed record EvalJob
{
    public required string Checkpoint { get; init; }
    public required int ContextLength { get; init; }
    /// <summary>0 = no limit.</summary>
    public long MaxTokensPerDomain { get; init; }
    public required IReadOnlyList<EvalSet> Sets { get; init; }
    public required string Output { get; init; }
    public int Threads { get; init; }
    public int BatchSize { get; init; } = 8;
    /// <summary>tokenizer.json of the model: needed by <see cref="Tasks"/> and <see cref="Generation"/>.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Benchmark files scored by log-likelihood or generation (docs/trainer-contract.md).</summary>
    public IReadOnlyList<Evaluation.TaskJob> Tasks { get; init; } = [];
    public IReadOnlyList<Evaluation.GenerationJob> Generations { get; init; } = [];
}

public sealed record EvalSet
{
    public required string Domain { get; init; }
    public required IReadOnlyList<string> Prefixes { get; init; }
    public long TextBytes { get; init; }
}

public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // A loss that never got a value (every batch skipped) is NaN; keep the file writable.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static T Load<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw new InvalidDataException($"{path}: empty job");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Writes JSON via a temporary file and a rename, flushed to disk.</summary>
    public static void WriteAtomically<T>(string path, T value)
    {
        var temp = path + ".tmp~";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, value, Options);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
