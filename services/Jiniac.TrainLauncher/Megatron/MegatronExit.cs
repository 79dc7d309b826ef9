namespace Jiniac.TrainLauncher.Megatron;

internal enum MegatronExitKind
{
    /// <summary>Exit 0 with the tracker at --train-iters: the stage is trained.</summary>
    Completed,
    /// <summary>A planned exit (exit 16, or exit 0 before the budget: --exit-duration-in-mins, --exit-interval, SIGTERM): start again from the latest checkpoint; not a crash.</summary>
    Requeue,
    /// <summary>The launcher asked it to stop and it did.</summary>
    Stopped,
    /// <summary>Exit 17: the rerun state machine found a result that failed validation; restarting repeats it.</summary>
    ValidationFailed,
    /// <summary>Anything else (a crash, an NCCL watchdog abort): resume from the latest complete checkpoint, counted against max_restarts.</summary>
    Crashed,
}

/// <summary>How a Megatron-LM exit is to be understood (reference/megatron-training-log.md, "Exits a launcher must understand").</summary>
internal static class MegatronExit
{
    public const int ResumeToDisambiguate = 16;
    public const int FailedValidation = 17;

    public static MegatronExitKind Classify(int exitCode, long? trackerIteration, long trainIters, bool stopRequested)
    {
        var trained = trackerIteration is { } iteration && iteration >= trainIters;
        return exitCode switch
        {
            0 when trained => MegatronExitKind.Completed,
            FailedValidation => MegatronExitKind.ValidationFailed,
            0 or ResumeToDisambiguate when stopRequested => MegatronExitKind.Stopped,
            0 or ResumeToDisambiguate => MegatronExitKind.Requeue,
            _ => MegatronExitKind.Crashed,
        };
    }

    public static string Describe(MegatronExitKind kind, int exitCode) => kind switch
    {
        MegatronExitKind.Completed => "Megatron trained the stage's iterations",
        MegatronExitKind.Requeue => exitCode == ResumeToDisambiguate
            ? "Megatron exited 16 (resume to disambiguate a result): requeued from its latest checkpoint"
            : "Megatron exited before its last iteration (exit duration, exit interval or signal): requeued from its latest checkpoint",
        MegatronExitKind.Stopped => "Megatron saved and exited as asked",
        MegatronExitKind.ValidationFailed => "Megatron exited 17: a result failed validation (rerun state machine); restarting would repeat it",
        _ => $"Megatron exited with code {exitCode}",
    };
}
