using System.Text.RegularExpressions;

namespace Jiniac.Contracts.Pipeline;

/// <summary>
/// Reads training.trainer and training.backend (docs/pipeline-reference.md). Kept apart from
/// PipelineLoader's other sections so that those keys can grow without touching the rest.
/// </summary>
internal static partial class TrainerAndBackend
{
    private static readonly string[] TrainerKinds = [TrainerSpec.Reference, TrainerSpec.Megatron];
    private static readonly string[] InitModes = [TrainerSpec.Finetune, TrainerSpec.CarryOptimizer];
    private static readonly string[] BackendKinds = [BackendSpec.Local, BackendSpec.Slurm, BackendSpec.Kubernetes];

    /// <param name="microBatchSize">training.micro_batch_size, or 0 when it has a problem of its own.</param>
    public static TrainerSpec ReadTrainer(YamlSection training, int microBatchSize)
    {
        var defaults = new TrainerSpec();
        if (training.Section("trainer", required: false) is not { } section)
        {
            return defaults;
        }

        var kind = section.String("kind") ?? defaults.Kind;
        section.Check("kind", TrainerKinds.Contains(kind, StringComparer.Ordinal), $"must be one of: {string.Join(", ", TrainerKinds)}; not '{kind}'");
        var command = Strings(section, "command");
        if (kind == TrainerSpec.Megatron)
        {
            section.Check("command", command.Count > 0,
                "is required for the megatron trainer: the program and its leading arguments, e.g. [torchrun, --nproc-per-node=8, /opt/Megatron-LM/pretrain_gpt.py]");
        }
        else if (section.Has("command"))
        {
            section.Error("command", "applies to the megatron trainer only (the reference trainer is configured by TrainLauncher:Trainer)");
        }

        var extraArgs = Strings(section, "extra_args");
        var globalBatch = section.Int("global_batch_size", defaults.GlobalBatchSize);
        section.Check("global_batch_size", globalBatch >= 0, "must be at least 0 (0 = micro_batch_size)");
        if (globalBatch > 0 && microBatchSize > 0)
        {
            section.Check("global_batch_size", globalBatch % microBatchSize == 0,
                $"must be a multiple of training.micro_batch_size ({microBatchSize}): Megatron accumulates whole micro-batches");
        }
        var split = section.String("split") ?? defaults.Split;
        section.Check("split", SplitPattern().IsMatch(split), $"must be train,valid,test weights such as '100,0,0'; not '{split}'");
        var init = section.String("init") ?? defaults.Init;
        section.Check("init", InitModes.Contains(init, StringComparer.Ordinal), $"must be one of: {string.Join(", ", InitModes)}; not '{init}'");
        section.Finish();
        return new TrainerSpec { Kind = kind, Command = command, ExtraArgs = extraArgs, GlobalBatchSize = globalBatch, Split = split, Init = init };
    }

    public static BackendSpec ReadBackend(YamlSection training)
    {
        var defaults = new BackendSpec();
        if (training.Section("backend", required: false) is not { } section)
        {
            return defaults;
        }

        var kind = section.String("kind") ?? defaults.Kind;
        section.Check("kind", BackendKinds.Contains(kind, StringComparer.Ordinal), $"must be one of: {string.Join(", ", BackendKinds)}; not '{kind}'");
        var nodes = section.Int("nodes", defaults.Nodes);
        section.Check("nodes", nodes >= 1, "must be at least 1");
        var gpus = section.Int("gpus_per_node", defaults.GpusPerNode);
        section.Check("gpus_per_node", gpus >= 0, "must be at least 0");
        var partition = section.String("partition");
        var account = section.String("account");
        var timeLimit = section.String("time_limit");
        if (timeLimit is not null)
        {
            section.Check("time_limit", TimePattern().IsMatch(timeLimit), $"must be minutes, HH:MM:SS or D-HH:MM:SS (Slurm's --time); not '{timeLimit}'");
        }

        var grace = section.Int("signal_grace_seconds", defaults.SignalGraceSeconds);
        section.Check("signal_grace_seconds", grace >= 0, "must be at least 0");
        var setup = Strings(section, "setup");
        var image = section.String("image");
        var env = Strings(section, "env");
        foreach (var pair in env)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            section.Check("env", equals > 0 && EnvName().IsMatch(pair[..equals]), $"each item must be NAME=value with NAME of letters, digits and '_'; not '{pair}'");
        }

        var ns = section.String("namespace") ?? defaults.Namespace;
        section.Check("namespace", KubernetesName().IsMatch(ns), $"must be a Kubernetes name (lower-case letters, digits, '-', at most 63); not '{ns}'");
        var claim = section.String("volume_claim");
        if (claim is not null)
        {
            section.Check("volume_claim", KubernetesName().IsMatch(claim), $"must be a Kubernetes name (lower-case letters, digits, '-', at most 63); not '{claim}'");
        }

        var cpu = section.String("cpu_request");
        var memory = section.String("memory_request");
        var backoff = section.Int("backoff_limit", defaults.BackoffLimit);
        section.Check("backoff_limit", backoff >= 0, "must be at least 0");
        var deadline = section.Long("active_deadline_seconds", defaults.ActiveDeadlineSeconds);
        section.Check("active_deadline_seconds", deadline >= 0, "must be at least 0 (0 = none)");
        if (kind == BackendSpec.Kubernetes)
        {
            section.Check("image", image is { Length: > 0 }, "is required for the kubernetes backend: the container image holding the trainer");
        }

        section.Finish();
        return new BackendSpec
        {
            Kind = kind,
            Nodes = nodes,
            GpusPerNode = gpus,
            Partition = partition,
            Account = account,
            TimeLimit = timeLimit,
            SignalGraceSeconds = grace,
            Setup = setup,
            Image = image,
            Env = env,
            Namespace = ns,
            VolumeClaim = claim,
            CpuRequest = cpu,
            MemoryRequest = memory,
            BackoffLimit = backoff,
            ActiveDeadlineSeconds = deadline,
        };
    }

    private static List<string> Strings(YamlSection section, string key) =>
        section.StringList(key)?.Select(static item => item.Value).ToList() ?? [];

    [GeneratedRegex(@"^\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex SplitPattern();

    [GeneratedRegex(@"^(\d+|\d+:\d{2}:\d{2}|\d+-\d{1,2}:\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex KubernetesName();
}
