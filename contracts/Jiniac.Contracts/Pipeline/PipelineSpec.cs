namespace Jiniac.Contracts.Pipeline;

// The pipeline file, as loaded and validated by PipelineLoader. Paths are absolute once loaded
// (resolved against the pipeline file's folder). YAML keys are snake_case versions of these names.

public sealed record PipelineSpec
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required TokenizerSpec Tokenizer { get; init; }
    public required ModelSpec Model { get; init; }
    public required TrainingSpec Training { get; init; }
    public EvaluationSpec Evaluation { get; init; } = new();
    public PublishSpec? Publish { get; init; }
    public required IReadOnlyList<StageSpec> Stages { get; init; }
    /// <summary>Absolute path of the file this spec was loaded from ("" when built in code).</summary>
    public string SourceFile { get; init; } = "";
}

/// <summary>Either a given tokenizer.json (<see cref="Path"/>) or one trained on the first stage's data (<see cref="Train"/>).</summary>
public sealed record TokenizerSpec
{
    public string? Path { get; init; }
    public TokenizerTrainingSpec? Train { get; init; }
}

public sealed record TokenizerTrainingSpec
{
    public required int VocabSize { get; init; }
    /// <summary>At most this many bytes of text are sampled from the first stage's training shards.</summary>
    public long SampleBytes { get; init; } = 4_000_000;
    public int MinFrequency { get; init; } = 2;
    /// <summary>Special tokens, given ids 0..n-1. The first is the end-of-document token.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<|endoftext|>"];
}

public sealed record ModelSpec
{
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public double RmsNormEps { get; init; } = 1e-5;
    public double RopeTheta { get; init; } = 10000;
    public bool TieWordEmbeddings { get; init; }
}

public sealed record TrainingSpec
{
    public required int SeqLength { get; init; }
    public required int MicroBatchSize { get; init; }
    public required double LearningRate { get; init; }
    public double MinLearningRate { get; init; }
    public int WarmupSteps { get; init; }
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double GradClip { get; init; } = 1.0;
    public long Seed { get; init; } = 1234;
    /// <summary>Save a checkpoint every this many steps (the final step always saves).</summary>
    public int CheckpointInterval { get; init; } = 100;
    /// <summary>How often the trainer writes a metrics line, in steps.</summary>
    public int LogInterval { get; init; } = 1;
    /// <summary>How many times a crashed trainer is resumed before the stage fails.</summary>
    public int MaxRestarts { get; init; } = 3;
    /// <summary>Intra-op threads for the trainer (0 = all cores).</summary>
    public int Threads { get; init; }
}

public sealed record EvaluationSpec
{
    /// <summary>Also evaluate every Nth checkpoint of a stage (0 = only each stage's final checkpoint).</summary>
    public int EveryNCheckpoints { get; init; }
    /// <summary>Cap on tokens scored per domain (0 = the whole held-out split).</summary>
    public long MaxTokensPerDomain { get; init; } = 65_536;
}

public sealed record PublishSpec
{
    /// <summary>Repository id, "owner/name".</summary>
    public required string Repo { get; init; }
    /// <summary>The local hub folder revisions are written to; null = "{state dir}/hub".</summary>
    public string? HubDir { get; init; }
    public string License { get; init; } = "apache-2.0";
    public IReadOnlyList<string> Languages { get; init; } = [];
}

public sealed record StageSpec
{
    public required string Name { get; init; }
    public required long TokenBudget { get; init; }
    public required IReadOnlyList<SourceSpec> Sources { get; init; }
    /// <summary>Peak learning rate for this stage (overrides training.learning_rate).</summary>
    public double? LearningRate { get; init; }
}

public enum SourceFormat
{
    /// <summary>Decided by extension: .jsonl, .jsonl.gz, or a folder of .txt/.md/.html.</summary>
    Auto,
    Jsonl,
    JsonlGz,
    /// <summary>A folder tree (or single file) of .txt, .md, .html/.htm documents.</summary>
    Tree,
    /// <summary>Zstandard-compressed JSON Lines (.jsonl.zst).</summary>
    JsonlZst,
    /// <summary>Apache Parquet; the text column is <see cref="SourceSpec.TextField"/>.</summary>
    Parquet,
}

public sealed record SourceSpec
{
    public required string Name { get; init; }
    /// <summary>Files, folders or globs (absolute once loaded).</summary>
    public required IReadOnlyList<string> Paths { get; init; }
    public SourceFormat Format { get; init; } = SourceFormat.Auto;
    /// <summary>The JSON field holding the text (jsonl formats).</summary>
    public string TextField { get; init; } = "text";
    /// <summary>Blend weight of this source within its stage.</summary>
    public double Weight { get; init; } = 1.0;
    /// <summary>The held-out domain this source's eval split reports under (default: the source name).</summary>
    public string? Domain { get; init; }
    /// <summary>Share of documents held out for evaluation (chosen by content hash, so stable).</summary>
    public double EvalFraction { get; init; } = 0.05;
    /// <summary>Upper bound of a shard's size in bytes.</summary>
    public long ShardBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Documents shorter than this (characters, after cleaning) are dropped.</summary>
    public int MinChars { get; init; } = 20;
    public CleaningSpec Cleaning { get; init; } = new();
    public PiiSpec Pii { get; init; } = new();
    public DedupSpec Dedup { get; init; } = new();

    public string DomainName => Domain ?? Name;
}
