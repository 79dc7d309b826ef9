namespace Jiniac.Trainer;

/// <summary>Linear warm-up to the peak, then cosine decay to min_lr over the remaining steps (as Megatron's "cosine" style).</summary>
/// <remarks>
/// A job that continues an earlier stage's schedule passes that schedule's span as <paramref name="totalSteps"/> and the
/// steps before its own first as <paramref name="offset"/>: its step s gets the schedule's rate at offset + s.
/// </remarks>
public sealed class LearningRateSchedule(double peak, double min, long warmupSteps, long totalSteps, long offset = 0)
{
    /// <summary>The rate for the update that completes this job's step <paramref name="jobStep"/> (1-based).</summary>
    public double At(long jobStep)
    {
        var step = offset + jobStep;
        if (step <= warmupSteps)
        {
            return peak * step / warmupSteps;
        }

        var decaySteps = totalSteps - warmupSteps;
        if (decaySteps <= 0)
        {
            return min;
        }

        var progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return min + (0.5 * (peak - min) * (1 + Math.Cos(Math.PI * progress)));
    }
}
