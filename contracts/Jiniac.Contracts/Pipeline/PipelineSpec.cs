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
    /// <summary>integrations: the run's own event sinks (webhooks); null when the file has none.</summary>
    public IntegrationsSpec? Integrations { get; init; }
}

/// <summary>Either a given tokenizer.json (<see cref="Path"/>) or one trained on the first stage's data (<see cref="Train"/>).</summary>
public sealed record TokenizerSpec
{
    public string? Path { get; init; }
    public TokenizerTrainingSpec? Train { get; init; }
    /// <summary>tokenizer.add_special_tokens: the post-processor's tokens (e.g. Llama's BOS) around each document.</summary>
    public bool AddSpecialTokens { get; init; }
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
    /// <summary>How the train-launcher babysits the trainer (training.supervision).</summary>
    public SupervisionSpec Supervision { get; init; } = new();
    /// <summary>Which of a stage's checkpoints are deleted as training goes on (training.retention).</summary>
    public RetentionSpec Retention { get; init; } = new();
    /// <summary>Which trainer runs the stages (training.trainer); the reference trainer by default.</summary>
    public TrainerSpec Trainer { get; init; } = new();
    /// <summary>Where the trainer runs (training.backend); a local process by default.</summary>
    public BackendSpec Backend { get; init; } = new();
    /// <summary>The stages' default learning-rate schedule carry-over (training.lr_schedule; <see cref="LrSchedules"/>).</summary>
    public string LrSchedule { get; init; } = LrSchedules.Restart;
}

public sealed record EvaluationSpec
{
    /// <summary>Also evaluate every Nth checkpoint of a stage (0 = only each stage's final checkpoint).</summary>
    public int EveryNCheckpoints { get; init; }
    /// <summary>Cap on tokens scored per domain (0 = the whole held-out split).</summary>
    public long MaxTokensPerDomain { get; init; } = 65_536;
    /// <summary>Benchmark suites, each run on the checkpoints its policy picks (docs/pipeline-reference.md, "Evaluation suites").</summary>
    public IReadOnlyList<EvaluationSuiteSpec> Suites { get; init; } = [];
    /// <summary>Conditions a stage's final evaluation must meet before it is published; a failed gate holds the stage.</summary>
    public IReadOnlyList<GateSpec> Gates { get; init; } = [];
}

public sealed record PublishSpec
{
    /// <summary>Repository id, "owner/name".</summary>
    public required string Repo { get; init; }
    /// <summary>The local hub folder revisions are written to; null = "{state dir}/hub".</summary>
    public string? HubDir { get; init; }
    public string License { get; init; } = "apache-2.0";
    public IReadOnlyList<string> Languages { get; init; } = [];
    /// <summary>The hub's base URL (Hub protocol); null = the local hub the publisher serves over HubDir.</summary>
    public string? Endpoint { get; init; }
    /// <summary>A file holding the hub token; null = $HF_TOKEN (the token itself never travels in a message).</summary>
    public string? TokenFile { get; init; }
    /// <summary>The published weights' dtype: "float32" or "bfloat16".</summary>
    public string DType { get; init; } = "float32";
    /// <summary>Weights above this many bytes are split into model-0000i-of-0000N.safetensors shards with an index (HF's max_shard_size).</summary>
    public long MaxShardSize { get; init; } = 5_000_000_000;
    /// <summary>Each stage's latest published commit is also the head of a branch named after the stage.</summary>
    public bool StageBranches { get; init; } = true;
    /// <summary>A Dapr secret store entry holding the hub token (publish.token_secret); used when no token_file is given.</summary>
    public DaprSecretSpec? TokenSecret { get; init; }
}

public sealed record StageSpec
{
    public required string Name { get; init; }
    public required long TokenBudget { get; init; }
    public required IReadOnlyList<SourceSpec> Sources { get; init; }
    /// <summary>Peak learning rate for this stage (overrides training.learning_rate).</summary>
    public double? LearningRate { get; init; }
    /// <summary>This stage's schedule carry-over (overrides training.lr_schedule); null = the training default.</summary>
    public string? LrSchedule { get; init; }
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

/// <summary>
/// The train-launcher's babysitting policy (training.supervision in the pipeline file; docs/pipeline-reference.md):
/// restarts with back-off, stall and low-throughput detection, and loss-spike handling.
/// </summary>
public sealed record SupervisionSpec
{
    /// <summary>Pause before the first restart; each further restart doubles it, up to <see cref="RestartBackoffMaxSeconds"/>.</summary>
    public double RestartBackoffSeconds { get; init; } = 10;
    public double RestartBackoffMaxSeconds { get; init; } = 600;
    /// <summary>Crashes at the same step after which restarting is deemed hopeless (a fatal failure).</summary>
    public int SameStepCrashes { get; init; } = 3;
    /// <summary>A trainer is stalled when no new step came for max(factor × median step time, <see cref="StallMinSeconds"/>).</summary>
    public double StallFactor { get; init; } = 10;
    public double StallMinSeconds { get; init; } = 120;
    /// <summary>Time a (re)started trainer has for its first step (loading, compiling, warming up).</summary>
    public double StartupGraceSeconds { get; init; } = 900;
    /// <summary>Time between SIGTERM and SIGKILL when the launcher stops a trainer to intervene.</summary>
    public double StopGraceSeconds { get; init; } = 60;
    /// <summary>Alert when tokens/s falls below this share of the stage's running median (0 = off).</summary>
    public double LowThroughputRatio { get; init; } = 0.5;
    /// <summary><c>ratio</c>: loss above threshold × rolling median; <c>zscore</c>: above median by threshold standard deviations.</summary>
    public string SpikeMethod { get; init; } = SpikeMethods.Ratio;
    public double SpikeThreshold { get; init; } = 2.0;
    /// <summary>Finite losses the rolling statistics look back over.</summary>
    public int SpikeWindow { get; init; } = 50;
    /// <summary><c>alert</c>, <c>rollback_skip</c> or <c>stop</c> (the stage fails).</summary>
    public string SpikePolicy { get; init; } = SpikePolicies.RollbackSkip;
    /// <summary>Rollbacks after which a stage that keeps spiking fails.</summary>
    public int MaxRollbacks { get; init; } = 3;
}

public static class SpikeMethods
{
    public const string Ratio = "ratio";
    public const string ZScore = "zscore";
    public static readonly IReadOnlyList<string> All = [Ratio, ZScore];
}

public static class SpikePolicies
{
    public const string Alert = "alert";
    public const string RollbackSkip = "rollback_skip";
    public const string Stop = "stop";
    public static readonly IReadOnlyList<string> All = [Alert, RollbackSkip, Stop];
}

/// <summary>
/// Checkpoint retention of a training stage (training.retention). Kept always: each stage's final checkpoint, the
/// last <see cref="KeepLast"/>, every step that is a multiple of <see cref="KeepEvery"/>, and any checkpoint an
/// evaluation still waits for. <see cref="KeepLast"/> 0 keeps everything.
/// </summary>
public sealed record RetentionSpec
{
    public int KeepLast { get; init; }
    public long KeepEvery { get; init; }
    /// <summary>Also keep the stage's checkpoint with the best value of this evaluation metric (a name as gates use it); null = none.</summary>
    public string? KeepBest { get; init; }
    /// <summary>Upload each complete checkpoint to the blob store; one is pruned only once its archive is finished.</summary>
    public bool Archive { get; init; }
    /// <summary>Files of a checkpoint uploaded at the same time.</summary>
    public int ArchiveParallelism { get; init; } = 4;
}

/// <summary>Which checkpoints a suite evaluates.</summary>
public sealed record CheckpointPolicy
{
    /// <summary>Each stage's final checkpoint.</summary>
    public bool StageEnd { get; init; } = true;
    /// <summary>Also every checkpoint whose step is a multiple of this (0 = none); a multiple of training.checkpoint_interval.</summary>
    public int EveryNSteps { get; init; }
    /// <summary>Also, at stage end, the stage's checkpoint with the lowest training loss.</summary>
    public bool Best { get; init; }
}

/// <summary>One benchmark file of a suite (the formats of reference/eval-formats.md).</summary>
public sealed record EvalTaskSpec
{
    public required string Name { get; init; }
    /// <summary>jcommonsenseqa | jnli | jsquad</summary>
    public required string Format { get; init; }
    /// <summary>Absolute path of the documents scored.</summary>
    public required string Path { get; init; }
    /// <summary>Absolute path of a separate split few-shot examples are drawn from.</summary>
    public string? FewshotPath { get; init; }
    public int NumFewshot { get; init; }
    public long Seed { get; init; } = 1234;
    /// <summary>Only the first this many documents (0 = all).</summary>
    public int Limit { get; init; }
    public int MaxNewTokens { get; init; } = 32;
}

/// <summary>Generation samples of a suite: each prompt continued greedily and/or by nucleus sampling.</summary>
public sealed record GenerationSpec
{
    public required IReadOnlyList<string> Prompts { get; init; }
    public int MaxNewTokens { get; init; } = 32;
    public bool Greedy { get; init; } = true;
    public int Samples { get; init; } = 1;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.9;
    public double RepetitionPenalty { get; init; } = 1.0;
    public long Seed { get; init; } = 1234;
    public int Ngram { get; init; } = 3;
}

/// <summary>An external harness run by command on the checkpoint exported as a Hugging Face folder.</summary>
public sealed record HarnessSpec
{
    /// <summary>Run with /bin/sh -c; {model_dir}, {output_dir} and {tokenizer} are replaced (shell-quoted).</summary>
    public required string Command { get; init; }
    /// <summary>lm-eval (results*.json of lm-evaluation-harness) or llm-jp-eval.</summary>
    public required string Results { get; init; }
    /// <summary>The command is killed after this many seconds and the evaluation fails.</summary>
    public int TimeoutSeconds { get; init; } = 3600;
}

public sealed record EvaluationSuiteSpec
{
    public required string Name { get; init; }
    public CheckpointPolicy When { get; init; } = new();
    public IReadOnlyList<EvalTaskSpec> Tasks { get; init; } = [];
    public GenerationSpec? Generation { get; init; }
    public HarnessSpec? Harness { get; init; }
}

/// <summary>A condition on one metric of a stage's final evaluation.</summary>
public sealed record GateSpec
{
    /// <summary>A metric name as EvaluationCompleted reports it: perplexity/DOMAIN, bits_per_byte/DOMAIN, loss/DOMAIN, SUITE/TASK/METRIC.</summary>
    public required string Metric { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    /// <summary>Largest allowed worsening against the previous stage's final evaluation, in percent.</summary>
    public double? MaxRegressionPercent { get; init; }
    /// <summary>Whether larger is better (decides what "regression" means); by default false for perplexity, bits_per_byte and loss, true otherwise.</summary>
    public bool? HigherIsBetter { get; init; }

    public bool IsHigherBetter => HigherIsBetter ?? DefaultHigherIsBetter(Metric);

    /// <summary>Perplexity, bits per byte and loss are better lower; every other metric (accuracies, F1, …) higher.</summary>
    public static bool DefaultHigherIsBetter(string metric) => !(metric.StartsWith("perplexity/", StringComparison.Ordinal)
        || metric.StartsWith("bits_per_byte/", StringComparison.Ordinal) || metric.StartsWith("loss/", StringComparison.Ordinal));
}

/// <summary>training.trainer: the reference trainer (the trainer contract) or Megatron-LM through its adapter.</summary>
public sealed record TrainerSpec
{
    public const string Reference = "reference";
    public const string Megatron = "megatron";
    public const string Finetune = "finetune";
    public const string CarryOptimizer = "carry_optimizer";

    /// <summary>"reference" (docs/trainer-contract.md) or "megatron".</summary>
    public string Kind { get; init; } = Reference;
    /// <summary>Megatron: the program and its leading arguments, e.g. ["torchrun", "--nproc-per-node=8", "/opt/Megatron-LM/pretrain_gpt.py"].</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    /// <summary>Megatron: arguments appended after the rendered ones (argparse: a later one wins).</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
    /// <summary>Megatron: samples per optimizer step across data-parallel ranks (0 = micro_batch_size).</summary>
    public int GlobalBatchSize { get; init; }
    /// <summary>Megatron --split (train,valid,test weights); the platform holds out evaluation data itself.</summary>
    public string Split { get; init; } = "100,0,0";
    /// <summary>Megatron: how a stage starts from the previous one's weights: "finetune" (--finetune) or "carry_optimizer".</summary>
    public string Init { get; init; } = Finetune;
}

/// <summary>training.backend: where a stage's trainer runs.</summary>
public sealed record BackendSpec
{
    public const string Local = "local";
    public const string Slurm = "slurm";
    public const string Kubernetes = "kubernetes";

    /// <summary>"local" (a child process), "slurm" (sbatch) or "kubernetes" (a rendered Job manifest).</summary>
    public string Kind { get; init; } = Local;
    public int Nodes { get; init; } = 1;
    /// <summary>GPUs per node (Slurm --gres=gpu:N, Kubernetes nvidia.com/gpu); 0 = none.</summary>
    public int GpusPerNode { get; init; }
    public string? Partition { get; init; }
    public string? Account { get; init; }
    /// <summary>Slurm time limit ("minutes", "HH:MM:SS" or "D-HH:MM:SS"); null = the partition's.</summary>
    public string? TimeLimit { get; init; }
    /// <summary>Seconds before the time limit at which the trainer is sent SIGTERM to save and exit.</summary>
    public int SignalGraceSeconds { get; init; } = 120;
    /// <summary>Shell lines run before the trainer starts (module load, exports, container setup).</summary>
    public IReadOnlyList<string> Setup { get; init; } = [];
    /// <summary>Slurm: a container image for srun --container-image (pyxis); Kubernetes: the pod's image.</summary>
    public string? Image { get; init; }
    /// <summary>Extra environment of the trainer, "NAME=value" each.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    /// <summary>Kubernetes namespace.</summary>
    public string Namespace { get; init; } = "default";
    /// <summary>Kubernetes: the PersistentVolumeClaim holding the platform's state folder, mounted at the same path.</summary>
    public string? VolumeClaim { get; init; }
    public string? CpuRequest { get; init; }
    public string? MemoryRequest { get; init; }
    public int BackoffLimit { get; init; }
    /// <summary>Kubernetes activeDeadlineSeconds (0 = none).</summary>
    public long ActiveDeadlineSeconds { get; init; }
}

/// <summary>A secret in a Dapr secret store: the store component's name and the secret's key (the value never travels in a message).</summary>
public sealed record DaprSecretSpec
{
    public required string Store { get; init; }
    public required string Key { get; init; }
}
