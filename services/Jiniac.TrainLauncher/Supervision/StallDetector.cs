using Jiniac.Contracts.Pipeline;

namespace Jiniac.TrainLauncher.Supervision;

internal sealed record Stall(long? LastStep, TimeSpan Silent, TimeSpan Deadline);

/// <summary>
/// "This job is stuck", as a number: no new step within max(stall_factor × the median seconds per step, stall_min_seconds)
/// — the median over the stage's own recent steps, so a slow model is not a stalled one — or, before a (re)started
/// trainer's first step, within startup_grace_seconds. Time is the launcher's (TimeProvider), not the trainer's clock.
/// </summary>
internal sealed class StallDetector(SupervisionSpec spec, TimeProvider time)
{
    private readonly RollingWindow _secondsPerStep = new(64);
    private DateTimeOffset _lastProgress;
    private long? _lastStep;

    /// <summary>A trainer was (re)started: the startup grace runs from now. The stage's step times are kept.</summary>
    public void Started()
    {
        _lastProgress = time.GetUtcNow();
        _lastStep = null;
    }

    public void Observe(long step)
    {
        var now = time.GetUtcNow();
        if (_lastStep is { } last)
        {
            if (step <= last)
            {
                return;
            }

            _secondsPerStep.Add((now - _lastProgress).TotalSeconds / (step - last));
        }

        // The first step after a start sets the baseline only: its time includes loading the checkpoint.
        _lastStep = step;
        _lastProgress = now;
    }

    public TimeSpan Deadline =>
        _lastStep is null
            ? TimeSpan.FromSeconds(spec.StartupGraceSeconds)
            : TimeSpan.FromSeconds(_secondsPerStep.Count == 0
                ? spec.StallMinSeconds
                : Math.Max(spec.StallFactor * _secondsPerStep.Median(), spec.StallMinSeconds));

    public Stall? Check()
    {
        var silent = time.GetUtcNow() - _lastProgress;
        var deadline = Deadline;
        return silent > deadline ? new Stall(_lastStep, silent, deadline) : null;
    }
}
