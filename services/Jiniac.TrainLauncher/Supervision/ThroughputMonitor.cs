namespace Jiniac.TrainLauncher.Supervision;

internal sealed record LowThroughput(long Step, double TokensPerSecond, double Median);

/// <summary>
/// Flags tokens/s far below the stage's own running median (a throttled GPU, a slow node, a failing disk). It alerts
/// once when throughput drops and again only after it has recovered: an alert per metrics line would be noise.
/// </summary>
internal sealed class ThroughputMonitor(double ratio)
{
    /// <summary>Lines before the median is trusted: the first steps of a run are slow while kernels warm up.</summary>
    public const int MinSamples = 10;

    private readonly RollingWindow _window = new(200);
    private bool _low;

    public LowThroughput? Observe(long step, double tokensPerSecond)
    {
        if (ratio <= 0 || !(tokensPerSecond > 0))
        {
            return null;
        }

        LowThroughput? alert = null;
        if (_window.Count >= MinSamples)
        {
            var median = _window.Median();
            var low = tokensPerSecond < ratio * median;
            if (low && !_low)
            {
                alert = new LowThroughput(step, tokensPerSecond, median);
            }

            _low = low;
        }

        _window.Add(tokensPerSecond);
        return alert;
    }
}
