namespace Jiniac.TrainLauncher.Supervision;

internal sealed record LowThroughput(long Step, double TokensPerSecond, double Median);

/// <summary>
/// Flags tokens/s far below the stage's own running median (a throttled GPU, a slow node, a failing disk). A single slow
/// line is no signal — the step after a checkpoint save is slow by design — so it is the median of the last
/// <see cref="Recent"/> lines that must fall below ratio × the median of the lines before them. It alerts once when
/// throughput drops and again only after it has recovered: an alert per metrics line would be noise.
/// </summary>
internal sealed class ThroughputMonitor(double ratio)
{
    /// <summary>Lines of history before the median is trusted: the first steps of a run are slow while kernels warm up.</summary>
    public const int MinSamples = 10;

    /// <summary>Lines whose median is compared with the history.</summary>
    public const int Recent = 5;

    private readonly RollingWindow _history = new(200);
    private readonly Queue<double> _recent = new(Recent);
    private bool _low;
    private int _warmingUp = Recent;

    /// <summary>A trainer was (re)started: its first lines (loading, warming up) are neither judged nor history.</summary>
    public void Started()
    {
        _recent.Clear();
        _low = false;
        _warmingUp = Recent;
    }

    public LowThroughput? Observe(long step, double tokensPerSecond)
    {
        if (ratio <= 0 || !(tokensPerSecond > 0))
        {
            return null;
        }

        if (_warmingUp > 0)
        {
            _warmingUp--;
            return null;
        }

        _recent.Enqueue(tokensPerSecond);
        if (_recent.Count <= Recent)
        {
            return null;
        }

        // The oldest recent line becomes history; the history never holds the lines being judged.
        _history.Add(_recent.Dequeue());
        if (_history.Count < MinSamples)
        {
            return null;
        }

        var recent = new RollingWindow(Recent);
        foreach (var value in _recent)
        {
            recent.Add(value);
        }

        var current = recent.Median();
        var median = _history.Median();
        var low = current < ratio * median;
        var alert = low && !_low ? new LowThroughput(step, current, median) : null;
        _low = low;
        return alert;
    }
}
