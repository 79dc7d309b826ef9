using System.Globalization;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.TrainLauncher.Supervision;

/// <summary>A spike at <paramref name="Step"/>; the batches from <paramref name="FirstSuspectStep"/> on may have caused it.</summary>
internal sealed record LossSpike(long Step, double Loss, long FirstSuspectStep, string Reason);

/// <summary>
/// Loss spikes: a non-finite loss always; otherwise (spike_method) a loss above spike_threshold × the rolling median
/// (<c>ratio</c>) or more than spike_threshold standard deviations above the rolling mean (<c>zscore</c>), over the
/// last spike_window finite, non-spiking losses. Spikes never enter the window, so a diverged run keeps spiking.
/// </summary>
internal sealed class LossSpikeDetector(SupervisionSpec spec)
{
    /// <summary>Losses needed before a finite loss can be called a spike (a non-finite one always is).</summary>
    public int MinSamples => Math.Min(spec.SpikeWindow, 5);

    private readonly List<(long Step, double Loss)> _window = [];

    /// <summary>The last step whose loss looked normal (0 before any).</summary>
    public long LastGoodStep { get; private set; }

    public LossSpike? Observe(long step, double loss)
    {
        var suspect = LastGoodStep + 1;
        if (!double.IsFinite(loss))
        {
            return new LossSpike(step, loss, suspect, "the loss is not finite (NaN or infinite)");
        }

        if (_window.Count >= MinSamples)
        {
            var values = new RollingWindow(_window.Count);
            foreach (var (_, l) in _window)
            {
                values.Add(l);
            }

            var k = spec.SpikeThreshold.ToString("0.##", CultureInfo.InvariantCulture);
            if (spec.SpikeMethod == SpikeMethods.ZScore)
            {
                var (mean, deviation) = values.MeanAndDeviation();
                // A perfectly flat window has no deviation; a relative floor keeps float noise from being a spike.
                var z = (loss - mean) / Math.Max(deviation, 1e-6 * Math.Abs(mean));
                if (z > spec.SpikeThreshold)
                {
                    return new LossSpike(step, loss, suspect, $"the loss {Format(loss)} is {z.ToString("0.#", CultureInfo.InvariantCulture)} standard deviations above the rolling mean {Format(mean)} (threshold {k})");
                }
            }
            else
            {
                var median = values.Median();
                if (loss > spec.SpikeThreshold * median)
                {
                    return new LossSpike(step, loss, suspect, $"the loss {Format(loss)} is above {k} × the rolling median {Format(median)}");
                }
            }
        }

        if (step <= LastGoodStep)
        {
            // A step logged again after a resume replaces its earlier value.
            _window.RemoveAll(e => e.Step >= step);
        }

        _window.Add((step, loss));
        if (_window.Count > spec.SpikeWindow)
        {
            _window.RemoveAt(0);
        }

        LastGoodStep = step;
        return null;
    }

    /// <summary>The trainer resumes from the checkpoint at <paramref name="step"/>: later losses are no longer history.</summary>
    public void RollBack(long step)
    {
        _window.RemoveAll(e => e.Step > step);
        LastGoodStep = Math.Min(LastGoodStep, step);
    }

    private static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
