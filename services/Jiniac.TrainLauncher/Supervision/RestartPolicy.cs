using Jiniac.Contracts.Pipeline;

namespace Jiniac.TrainLauncher.Supervision;

/// <summary>
/// The restart budget of one stage: at most max_restarts resumes after crashes and stalls, each after an
/// exponential back-off (restart_backoff_seconds × 2^(n−1), capped), and the count of crashes per step that
/// tells a recurring bug from bad luck.
/// </summary>
internal sealed class RestartPolicy(SupervisionSpec spec, int maxRestarts)
{
    private readonly Dictionary<long, int> _crashesAtStep = [];

    public int Restarts { get; private set; }

    public int MaxRestarts => maxRestarts;

    public bool Exhausted => Restarts >= maxRestarts;

    /// <summary>Counts a crash at <paramref name="step"/> (the last step the trainer reported); returns how many there were there.</summary>
    public int RecordCrash(long step)
    {
        _crashesAtStep[step] = _crashesAtStep.GetValueOrDefault(step) + 1;
        return _crashesAtStep[step];
    }

    /// <summary>Takes one restart from the budget and returns the pause before it.</summary>
    public TimeSpan NextRestart()
    {
        Restarts++;
        return Backoff(Restarts);
    }

    /// <summary>The pause before restart <paramref name="restart"/> (1-based).</summary>
    public TimeSpan Backoff(int restart)
    {
        var seconds = spec.RestartBackoffSeconds * Math.Pow(2, Math.Min(restart - 1, 62));
        return TimeSpan.FromSeconds(Math.Min(seconds, spec.RestartBackoffMaxSeconds));
    }
}
