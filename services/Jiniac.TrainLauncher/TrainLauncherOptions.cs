using System.ComponentModel.DataAnnotations;
using Jiniac.TrainLauncher.Backends;

namespace Jiniac.TrainLauncher;

/// <summary>Bound from the "TrainLauncher" configuration section.</summary>
public sealed class TrainLauncherOptions
{
    public const string Section = "TrainLauncher";

    /// <summary>The trainer honouring docs/trainer-contract.md: a <c>.dll</c> is run with <c>dotnet</c>, anything else is executed directly.</summary>
    [Required]
    public string Trainer { get; set; } = "";

    /// <summary>At most one <c>TrainingProgressed</c> per interval (the last one before completion is always sent).</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often metrics.jsonl and checkpoints/ are looked at while a trainer runs.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a SIGTERMed trainer gets to save its checkpoint and exit (host shutdown, stop, orphan from a previous host).</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Lines of trainer.log quoted in a failure reason.</summary>
    [Range(1, 1000)]
    public int LogTailLines { get; set; } = 20;

    /// <summary>
    /// Fault injection for game days and tests (docs/trainer-contract.md, <c>faults</c>): written into every JOB.json this
    /// host renders, for trainers that honour it. Empty (the default) in production.
    /// </summary>
    public List<TrainerFault> Faults { get; set; } = [];

    /// <summary>Extra environment variables for the trainer process (threads, devices, …).</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How stages with training.backend.kind: slurm reach the cluster.</summary>
    public SlurmOptions Slurm { get; set; } = new();
}

/// <summary>One injected fault: <c>crash</c>, <c>abort</c>, <c>hang</c>, <c>spike</c> or <c>nan</c> at a 1-based step.</summary>
public sealed class TrainerFault
{
    public string Kind { get; set; } = "";
    public long Step { get; set; }
    /// <summary><c>spike</c>: the factor the step's loss is multiplied by.</summary>
    public double Scale { get; set; } = 1000;
}
