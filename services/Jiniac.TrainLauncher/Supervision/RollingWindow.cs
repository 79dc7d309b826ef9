namespace Jiniac.TrainLauncher.Supervision;

/// <summary>The last <c>capacity</c> values in arrival order, with their median (a copy is sorted: windows are small).</summary>
internal sealed class RollingWindow(int capacity)
{
    private readonly Queue<double> _values = new(capacity);

    public int Count => _values.Count;

    public void Add(double value)
    {
        if (_values.Count == capacity)
        {
            _values.Dequeue();
        }

        _values.Enqueue(value);
    }

    public void Clear() => _values.Clear();

    public double Median()
    {
        var sorted = _values.ToArray();
        Array.Sort(sorted);
        var mid = sorted.Length / 2;
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public (double Mean, double StandardDeviation) MeanAndDeviation()
    {
        double sum = 0, squares = 0;
        foreach (var v in _values)
        {
            sum += v;
        }

        var mean = sum / _values.Count;
        foreach (var v in _values)
        {
            squares += (v - mean) * (v - mean);
        }

        return (mean, Math.Sqrt(squares / _values.Count));
    }
}
