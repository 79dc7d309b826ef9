using System.ComponentModel.DataAnnotations;

namespace Jiniac.Evaluator;

/// <summary>Bound from the "Evaluator" configuration section.</summary>
public sealed class EvaluatorOptions
{
    public const string Section = "Evaluator";

    /// <summary>The trainer honouring docs/trainer-contract.md (its <c>evaluate</c> verb): a <c>.dll</c> is run with <c>dotnet</c>, anything else directly.</summary>
    [Required]
    public string Trainer { get; set; } = "";

    /// <summary>Intra-op threads for the evaluation (0 = all cores).</summary>
    [Range(0, 4096)]
    public int Threads { get; set; }

    /// <summary>How many checkpoints are evaluated at once.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 1;

    /// <summary>Lines of the evaluation log quoted in a failure reason.</summary>
    [Range(1, 1000)]
    public int LogTailLines { get; set; } = 20;

    /// <summary>How long a cancelled evaluation (host shutdown) gets to exit after SIGTERM before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Extra environment variables for the evaluation process.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);
}
