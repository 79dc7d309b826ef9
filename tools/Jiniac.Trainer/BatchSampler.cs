using Jiniac.Formats.Megatron;

namespace Jiniac.Trainer;

/// <summary>
/// Draws training batches from a weighted blend of Megatron indexed datasets. Each sample is
/// seq_length + 1 consecutive tokens of the .bin stream (documents back to back, as Megatron's GPT
/// dataset concatenates them), from a dataset picked by weight, at a uniformly drawn position. Both
/// draws come from a counter-based generator keyed by (seed, step, sample index), so the batch of a
/// step never depends on what came before: a resumed run sees exactly the batches it would have.
/// </summary>
public sealed class BatchSampler : IDisposable
{
    private readonly IndexedDataset[] _datasets;
    private readonly double[] _cumulative;
    private readonly long _seed;
    private readonly int _window;
    private readonly int _vocabSize;
    private readonly int[] _scratch;

    public BatchSampler(IReadOnlyList<DataSource> sources, long seed, int seqLength, int vocabSize)
    {
        _seed = seed;
        _window = seqLength + 1;
        _vocabSize = vocabSize;
        _scratch = new int[_window];
        _datasets = new IndexedDataset[sources.Count];
        _cumulative = new double[sources.Count];
        double total = 0;
        try
        {
            for (var i = 0; i < sources.Count; i++)
            {
                _datasets[i] = IndexedDataset.Open(sources[i].Prefix);
                if (_datasets[i].TotalTokens < _window)
                {
                    throw new InvalidDataException($"{sources[i].Prefix}: {_datasets[i].TotalTokens} tokens, fewer than one sample of {_window}");
                }

                total += sources[i].Weight;
                _cumulative[i] = total;
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        for (var i = 0; i < _cumulative.Length; i++)
        {
            _cumulative[i] /= total;
        }
    }

    /// <summary>Fills <paramref name="destination"/> (batch × (seq_length + 1) ids, row-major) with the batch of 0-based step <paramref name="step"/>.</summary>
    public void Fill(long step, Span<long> destination)
    {
        var batch = destination.Length / _window;
        for (var sample = 0; sample < batch; sample++)
        {
            var state = Mix((ulong)_seed ^ Mix((ulong)step ^ Mix((ulong)sample + 0x632BE59BD9B4E019UL)));
            var u = ToUnit(Next(ref state));
            var d = 0;
            while (d < _cumulative.Length - 1 && u >= _cumulative[d])
            {
                d++;
            }

            var dataset = _datasets[d];
            var positions = (ulong)(dataset.TotalTokens - _window + 1);
            var position = (long)Bounded(ref state, positions);
            dataset.ReadTokens(position, _scratch);
            var row = destination.Slice(sample * _window, _window);
            for (var k = 0; k < _window; k++)
            {
                var id = _scratch[k];
                if ((uint)id >= (uint)_vocabSize)
                {
                    throw new InvalidDataException($"{dataset.Prefix}: token id {id} at {position + k} is outside the vocabulary of {_vocabSize}");
                }

                row[k] = id;
            }
        }
    }

    // SplitMix64 (Steele, Lea, Flood 2014): a bijective mixer, good enough to key independent streams.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    private static double ToUnit(ulong x) => (x >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's rejection on the 128-bit product).</summary>
    private static ulong Bounded(ref ulong state, ulong bound)
    {
        var threshold = (0 - bound) % bound;
        while (true)
        {
            var high = Math.BigMul(Next(ref state), bound, out var low);
            if (low >= threshold)
            {
                return high;
            }
        }
    }

    public void Dispose()
    {
        foreach (var d in _datasets)
        {
            d?.Dispose();
        }
    }
}
