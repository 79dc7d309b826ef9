using Microsoft.Extensions.Logging;

namespace Jiniac.Trainer;

/// <summary>
/// One injected fault of JOB.json's <c>faults</c> (docs/trainer-contract.md): how the launcher's babysitting is
/// exercised against the real trainer without a real GPU failure, hung collective or bad shard.
/// </summary>
public sealed record FaultSpec
{
    /// <summary><c>crash</c>, <c>abort</c>, <c>hang</c>, <c>spike</c> or <c>nan</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The 1-based step (as metrics.jsonl counts them) the fault strikes at.</summary>
    public required long Step { get; init; }

    /// <summary><c>spike</c>: the factor the step's loss is multiplied by before backward.</summary>
    public double Scale { get; init; } = 1000;

    public static readonly IReadOnlyList<string> Kinds = ["crash", "abort", "hang", "spike", "nan"];
}

/// <summary>Thrown by an injected <c>crash</c>: the trainer fails as on any unexpected error (exit 1, logged).</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>
/// Applies a job's faults. A process fault (crash, abort, hang) strikes once per output folder — a marker under
/// <c>.faults/</c> is written first — so the resumed trainer passes the step. A data fault (spike, nan) strikes
/// every time its step's batch is trained, as a bad batch would; skipping the batch (skip_batches) is the cure.
/// </summary>
internal sealed class FaultInjector(IReadOnlyList<FaultSpec> faults, string outputDir, ILogger logger)
{
    public const string MarkerFolder = ".faults";

    /// <summary>Before step <paramref name="step"/> is trained (or skipped): may throw, abort or never return.</summary>
    public void BeforeStep(long step)
    {
        foreach (var fault in faults)
        {
            if (fault.Step != step || fault.Kind is not ("crash" or "abort" or "hang") || !Claim(fault))
            {
                continue;
            }

            Log.FaultInjected(logger, fault.Kind, step);
            switch (fault.Kind)
            {
                case "crash":
                    throw new InjectedFaultException($"fault injection: crash at step {step}");
                case "abort":
                    // SIGABRT, no managed unwinding: the launcher sees exit 134 as from a native crash.
                    Console.Error.WriteLine($"fault injection: abort at step {step}");
                    Console.Error.Flush();
                    Environment.FailFast($"fault injection: abort at step {step}");
                    break;
                default:
                    // A hung collective: alive, silent, deaf to SIGTERM (the stop flag is never looked at again).
                    Console.Error.WriteLine($"fault injection: hanging at step {step}");
                    Console.Error.Flush();
                    Thread.Sleep(Timeout.Infinite);
                    break;
            }
        }
    }

    /// <summary>The factor step <paramref name="step"/>'s loss is multiplied by (1 when no data fault strikes there).</summary>
    public double LossScale(long step)
    {
        var scale = 1.0;
        foreach (var fault in faults)
        {
            if (fault.Step == step && fault.Kind is "spike" or "nan")
            {
                scale *= fault.Kind == "nan" ? double.NaN : fault.Scale;
                Log.FaultInjected(logger, fault.Kind, step);
            }
        }

        return scale;
    }

    private bool Claim(FaultSpec fault)
    {
        var folder = Path.Combine(outputDir, MarkerFolder);
        Directory.CreateDirectory(folder);
        var marker = Path.Combine(folder, $"{fault.Kind}-step_{fault.Step:D7}");
        try
        {
            // CreateNew: exactly one process ever claims a fault, even if two raced.
            using var stream = new FileStream(marker, FileMode.CreateNew, FileAccess.Write);
            stream.Flush(flushToDisk: true);
            return true;
        }
        catch (IOException) when (File.Exists(marker))
        {
            return false;
        }
    }
}
