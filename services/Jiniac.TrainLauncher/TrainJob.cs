using Jiniac.Hosting;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Contracts;
using Jiniac.Hosting.Blobs;

namespace Jiniac.TrainLauncher;

// JOB.json exactly as docs/trainer-contract.md spells it. Property names are explicit so the
// wire format never depends on a naming policy.

internal sealed record TrainJob
{
    [JsonPropertyName("model")] public required TrainJobModel Model { get; init; }
    [JsonPropertyName("data")] public required IReadOnlyList<TrainJobData> Data { get; init; }
    [JsonPropertyName("init_from")] public string? InitFrom { get; init; }
    [JsonPropertyName("resume_from")] public string? ResumeFrom { get; init; }
    [JsonPropertyName("output_dir")] public required string OutputDir { get; init; }
    [JsonPropertyName("train")] public required TrainJobTrain Train { get; init; }
    [JsonPropertyName("skip_batches")] public required IReadOnlyList<TrainJobRange> SkipBatches { get; init; }
    [JsonPropertyName("faults")] public IReadOnlyList<TrainJobFault> Faults { get; init; } = [];

    /// <summary>
    /// Identity of this job (everything but resume_from and skip_batches). The trainer copies it into each checkpoint's
    /// trainer_state.json, which is how the launcher knows a checkpoint belongs to this job.
    /// </summary>
    [JsonPropertyName("job_hash")] public string? JobHash { get; init; }
}

internal sealed record TrainJobModel
{
    [JsonPropertyName("vocab_size")] public required int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public required int HiddenSize { get; init; }
    [JsonPropertyName("intermediate_size")] public required int IntermediateSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public required int NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public required int NumAttentionHeads { get; init; }
    [JsonPropertyName("num_key_value_heads")] public required int NumKeyValueHeads { get; init; }
    [JsonPropertyName("max_position_embeddings")] public required int MaxPositionEmbeddings { get; init; }
    [JsonPropertyName("rms_norm_eps")] public required double RmsNormEps { get; init; }
    [JsonPropertyName("rope_theta")] public required double RopeTheta { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public required bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("bos_token_id")] public required int BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public required int EosTokenId { get; init; }
}

internal sealed record TrainJobData
{
    [JsonPropertyName("weight")] public required double Weight { get; init; }
    [JsonPropertyName("prefix")] public required string Prefix { get; init; }
}

internal sealed record TrainJobTrain
{
    [JsonPropertyName("seq_length")] public required int SeqLength { get; init; }
    [JsonPropertyName("micro_batch_size")] public required int MicroBatchSize { get; init; }
    [JsonPropertyName("train_tokens")] public required long TrainTokens { get; init; }
    [JsonPropertyName("lr")] public required double Lr { get; init; }
    [JsonPropertyName("min_lr")] public required double MinLr { get; init; }
    [JsonPropertyName("warmup_steps")] public required int WarmupSteps { get; init; }
    [JsonPropertyName("weight_decay")] public required double WeightDecay { get; init; }
    [JsonPropertyName("beta1")] public required double Beta1 { get; init; }
    [JsonPropertyName("beta2")] public required double Beta2 { get; init; }
    [JsonPropertyName("grad_clip")] public required double GradClip { get; init; }
    [JsonPropertyName("seed")] public required long Seed { get; init; }
    [JsonPropertyName("checkpoint_interval")] public required int CheckpointInterval { get; init; }
    [JsonPropertyName("log_interval")] public required int LogInterval { get; init; }
    [JsonPropertyName("threads")] public required int Threads { get; init; }

    // Left out when 0, so that a stage with a schedule of its own renders the JOB.json (and job_hash) it always did.
    [JsonPropertyName("schedule_offset"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long ScheduleOffset { get; init; }
    [JsonPropertyName("schedule_total_steps"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long ScheduleTotalSteps { get; init; }
}

internal sealed record TrainJobFault
{
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("step")] public required long Step { get; init; }
    [JsonPropertyName("scale")] public required double Scale { get; init; }
}

internal sealed record TrainJobRange
{
    [JsonPropertyName("from")] public required long From { get; init; }
    [JsonPropertyName("to")] public required long To { get; init; }
}

internal static class TrainJobs
{
    public const string FileName = "JOB.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static long TotalSteps(long trainTokens, int microBatchSize, int seqLength)
    {
        var batchTokens = (long)microBatchSize * seqLength;
        return (trainTokens + batchTokens - 1) / batchTokens;
    }

    /// <summary>Renders the job (without resume_from) with every data prefix materialised as a local path, and its hash.</summary>
    public static async Task<TrainJob> RenderAsync(LaunchTraining command, string outputDir, IBlobStore blobs, CancellationToken cancellationToken, IReadOnlyList<TrainerFault>? faults = null)
    {
        if (command.Training.SeqLength <= 0 || command.Training.MicroBatchSize <= 0 || command.TokenBudget <= 0)
        {
            throw new InvalidOperationException("seq_length, micro_batch_size and the token budget must be positive");
        }

        if (command.ScheduleOffsetSteps < 0 || (command.ScheduleTotalSteps != 0
            && command.ScheduleTotalSteps < command.ScheduleOffsetSteps + TotalSteps(command.TokenBudget, command.Training.MicroBatchSize, command.Training.SeqLength)))
        {
            throw new InvalidOperationException($"the learning-rate window (offset {command.ScheduleOffsetSteps}, total {command.ScheduleTotalSteps}) does not hold the stage's steps");
        }

        if (command.Data.Count == 0)
        {
            throw new InvalidOperationException("the stage has no training data");
        }

        var data = new List<TrainJobData>(command.Data.Count);
        foreach (var prefix in command.Data)
        {
            data.Add(new TrainJobData { Weight = prefix.Weight, Prefix = await LocalPrefixAsync(blobs, prefix.Prefix, cancellationToken) });
        }

        if (command.InitFrom is { } init && !File.Exists(Path.Combine(init, Checkpoints.CompleteMarker)))
        {
            throw new InvalidOperationException($"init_from '{init}' is not a complete checkpoint");
        }

        var training = command.Training;
        var skips = new List<TrainJobRange>(command.SkipBatches.Count);
        foreach (var range in command.SkipBatches)
        {
            skips.Add(new TrainJobRange { From = range.From, To = range.To });
        }

        var job = new TrainJob
        {
            Model = new TrainJobModel
            {
                VocabSize = command.VocabSize,
                HiddenSize = command.Model.HiddenSize,
                IntermediateSize = command.Model.IntermediateSize,
                NumHiddenLayers = command.Model.NumLayers,
                NumAttentionHeads = command.Model.NumHeads,
                NumKeyValueHeads = command.Model.NumKvHeads,
                MaxPositionEmbeddings = command.Model.MaxPositionEmbeddings,
                RmsNormEps = command.Model.RmsNormEps,
                RopeTheta = command.Model.RopeTheta,
                TieWordEmbeddings = command.Model.TieWordEmbeddings,
                // The platform's tokenizers have one end-of-document token that also starts documents.
                BosTokenId = command.EodTokenId,
                EosTokenId = command.EodTokenId,
            },
            Data = data,
            InitFrom = command.InitFrom is null ? null : Path.GetFullPath(command.InitFrom),
            ResumeFrom = null,
            OutputDir = Path.GetFullPath(outputDir),
            Train = new TrainJobTrain
            {
                SeqLength = training.SeqLength,
                MicroBatchSize = training.MicroBatchSize,
                TrainTokens = command.TokenBudget,
                // The sender has already applied the stage's learning-rate override.
                Lr = training.LearningRate,
                MinLr = training.MinLearningRate,
                WarmupSteps = training.WarmupSteps,
                WeightDecay = training.WeightDecay,
                Beta1 = training.Beta1,
                Beta2 = training.Beta2,
                GradClip = training.GradClip,
                Seed = training.Seed,
                CheckpointInterval = training.CheckpointInterval,
                LogInterval = training.LogInterval,
                Threads = training.Threads,
                ScheduleOffset = command.ScheduleOffsetSteps,
                // A window that is just this stage is the trainer's default.
                ScheduleTotalSteps = command.ScheduleOffsetSteps == 0
                    && command.ScheduleTotalSteps == TotalSteps(command.TokenBudget, training.MicroBatchSize, training.SeqLength)
                    ? 0 : command.ScheduleTotalSteps,
            },
            SkipBatches = skips,
            Faults = [.. (faults ?? []).Select(f => new TrainJobFault { Kind = f.Kind, Step = f.Step, Scale = f.Scale })],
            JobHash = null,
        };
        // skip_batches stays out of the identity: a rollback adds a skip range and must still resume from this job's
        // checkpoints. Injected faults are no part of what is trained either.
        return job with { JobHash = Convert.ToHexStringLower(SHA256.HashData(Serialize(job with { SkipBatches = [], Faults = [] }))) };
    }

    /// <summary>The trainer memory-maps .bin/.idx pairs by prefix, so both must sit side by side locally.</summary>
    public static async Task<string> LocalPrefixAsync(IBlobStore blobs, string prefix, CancellationToken cancellationToken)
    {
        var bin = await blobs.GetLocalPathAsync(prefix + ".bin", cancellationToken);
        var idx = await blobs.GetLocalPathAsync(prefix + ".idx", cancellationToken);
        var local = bin[..^".bin".Length];
        if (!string.Equals(idx, local + ".idx", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the blob store put {prefix}.bin and {prefix}.idx in different places ({bin}, {idx})");
        }

        return local;
    }

    public static byte[] Serialize(TrainJob job) => JsonSerializer.SerializeToUtf8Bytes(job, Json);

    public static TrainJob? TryRead(string outputDir)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainJob>(File.ReadAllBytes(Path.Combine(outputDir, FileName)), Json);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static void Write(string outputDir, TrainJob job) => AtomicFile.Write(Path.Combine(outputDir, FileName), Serialize(job));
}
