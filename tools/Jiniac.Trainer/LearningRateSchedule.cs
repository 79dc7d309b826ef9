namespace Jiniac.Trainer;

/// <summary>Linear warm-up to the peak, then cosine decay to min_lr over the remaining steps (as Megatron's "cosine" style).</summary>
public sealed class LearningRateSchedule(double peak, double min, long warmupSteps, long totalSteps)
{
    /// <summary>The rate for the update that completes step <paramref name="step"/> (1-based).</summary>
    public double At(long step)
    {
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
