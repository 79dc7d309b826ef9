using System.Globalization;

namespace Jiniac.TrainLauncher.Supervision;

/// <summary>Whether restarting a trainer that exited can help.</summary>
internal enum ExitVerdict
{
    /// <summary>The machine, the network or the scheduler failed, not the job: resume from the latest checkpoint.</summary>
    Transient,
    /// <summary>The job itself is broken (bad arguments, bad configuration, a crash that recurs at one step): stop trying.</summary>
    Fatal,
}

internal sealed record ExitClassification(ExitVerdict Verdict, string Reason);

/// <summary>
/// Sorts a trainer's exit into transient or fatal from its exit code, the tail of its log and how often it
/// crashed at the same step. Unknown crashes are transient: the restart budget (max_restarts) and the
/// same-step rule bound them, so a flaky node gets its retries and a deterministic bug does not loop.
/// </summary>
internal static class ExitClassifier
{
    // Checked in order, case-insensitively, against the log tail. Configuration errors first: a job that cannot
    // even parse its arguments may also print a network error on its way out.
    private static readonly (string[] AllOf, ExitVerdict Verdict, string Reason)[] LogPatterns =
    [
        (["unrecognized arguments"], ExitVerdict.Fatal, "a configuration error (unrecognized arguments)"),
        (["ModuleNotFoundError"], ExitVerdict.Fatal, "a configuration error (a module is missing)"),
        (["SyntaxError"], ExitVerdict.Fatal, "a configuration error (a syntax error in the trainer)"),
        (["Invalid job"], ExitVerdict.Fatal, "a configuration error (the trainer refused its job)"),
        (["NCCL", "timeout"], ExitVerdict.Transient, "an NCCL timeout (a hung or lost peer)"),
        (["NCCL", "timed out"], ExitVerdict.Transient, "an NCCL timeout (a hung or lost peer)"),
        (["NCCL error"], ExitVerdict.Transient, "an NCCL error (the network or a peer failed)"),
        (["CUDA out of memory"], ExitVerdict.Transient, "CUDA out of memory (fatal if it recurs at the same step)"),
        (["ECC error"], ExitVerdict.Transient, "a GPU memory error (ECC)"),
        (["NVRM: Xid"], ExitVerdict.Transient, "a GPU fault (Xid)"),
        (["fallen off the bus"], ExitVerdict.Transient, "a GPU that fell off the bus"),
        (["NODE FAIL"], ExitVerdict.Transient, "a node failure"),
        (["PREEMPT"], ExitVerdict.Transient, "a preemption"),
    ];

    public static ExitClassification Classify(int exitCode, string logTail, long step, int crashesAtStep, int sameStepCrashes)
    {
        var code = $"exit code {exitCode.ToString(CultureInfo.InvariantCulture)}";
        if (exitCode == 2)
        {
            return new(ExitVerdict.Fatal, $"{code}: bad arguments or an invalid job (restarting will not help)");
        }

        if (crashesAtStep >= sameStepCrashes)
        {
            return new(ExitVerdict.Fatal,
                $"{code}: crashed {crashesAtStep.ToString(CultureInfo.InvariantCulture)} times at step {step.ToString(CultureInfo.InvariantCulture)} (same_step_crashes: {sameStepCrashes.ToString(CultureInfo.InvariantCulture)}), so the job, not the machine, is at fault");
        }

        foreach (var (allOf, verdict, reason) in LogPatterns)
        {
            if (Array.TrueForAll(allOf, p => logTail.Contains(p, StringComparison.OrdinalIgnoreCase)))
            {
                return new(verdict, $"{code}: {reason}, from the log");
            }
        }

        return new(ExitVerdict.Transient, exitCode switch
        {
            137 => $"{code}: killed by SIGKILL (the OOM killer, a node failure or an operator)",
            143 or TrainerProcess.ExitStopped => $"{code}: stopped by SIGTERM from outside the launcher (a preemption)",
            134 => $"{code}: aborted (SIGABRT)",
            139 => $"{code}: a segmentation fault (SIGSEGV)",
            > 128 and < 160 => $"{code}: killed by signal {(exitCode - 128).ToString(CultureInfo.InvariantCulture)}",
            0 => $"{code} without a valid DONE.json",
            _ => $"{code}: a crash",
        });
    }
}
