namespace Jiniac.Contracts.Pipeline;

/// <summary>Values of training.lr_schedule and stages[].lr_schedule.</summary>
public static class LrSchedules
{
    /// <summary>The stage has a schedule of its own: warm-up from 0, cosine to min_lr over its own steps.</summary>
    public const string Restart = "restart";

    /// <summary>The stage goes on with the previous stage's schedule, which spans both (and any later continuing stage).</summary>
    public const string Continue = "continue";

    public static readonly IReadOnlyList<string> All = [Restart, Continue];
}

/// <summary>
/// Where a stage's steps sit in the learning-rate schedule it belongs to. A schedule starts at a <c>restart</c> stage
/// (or the first stage) and spans it and every directly following <c>continue</c> stage; a stage's step s (1-based)
/// gets the schedule's rate at step <see cref="OffsetSteps"/> + s of <see cref="TotalSteps"/>.
/// </summary>
public sealed record LearningRateWindow(long OffsetSteps, long TotalSteps)
{
    public static long StepsOf(StageSpec stage, TrainingSpec training)
    {
        var batchTokens = (long)training.MicroBatchSize * training.SeqLength;
        return (stage.TokenBudget + batchTokens - 1) / batchTokens;
    }

    public static LearningRateWindow For(IReadOnlyList<StageSpec> stages, TrainingSpec training, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, stages.Count);
        var first = index;
        while (first > 0 && Continues(stages[first], training))
        {
            first--;
        }

        var last = index;
        while (last + 1 < stages.Count && Continues(stages[last + 1], training))
        {
            last++;
        }

        long offset = 0, total = 0;
        for (var i = first; i <= last; i++)
        {
            var steps = StepsOf(stages[i], training);
            if (i < index)
            {
                offset += steps;
            }

            total += steps;
        }

        return new LearningRateWindow(offset, total);
    }

    private static bool Continues(StageSpec stage, TrainingSpec training) =>
        (stage.LrSchedule ?? training.LrSchedule) == LrSchedules.Continue;
}
