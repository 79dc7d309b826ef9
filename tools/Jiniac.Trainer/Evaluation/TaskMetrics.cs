using System.Text;

namespace Jiniac.Trainer.Evaluation;

/// <summary>The metrics of lm-evaluation-harness's multiple-choice and SQuAD-style tasks, and a repetition rate for generations.</summary>
public static class TaskMetrics
{
    /// <summary>
    /// lm-evaluation-harness <c>process_results</c> for multiple choice: acc = argmax of the log-likelihoods is gold;
    /// acc_norm = argmax of log-likelihood / the choice's length in characters (Python <c>len</c>: code points);
    /// acc_bytes = the same over UTF-8 bytes. numpy's argmax takes the first of equal maxima; so does this.
    /// </summary>
    public static (int Pred, int PredNorm, int PredBytes) Predict(IReadOnlyList<double> logLikelihoods, IReadOnlyList<string> choices)
    {
        var pred = 0;
        var norm = 0;
        var bytes = 0;
        double bestNorm = double.NegativeInfinity, bestBytes = double.NegativeInfinity;
        for (var i = 0; i < choices.Count; i++)
        {
            var ll = logLikelihoods[i];
            if (ll > logLikelihoods[pred])
            {
                pred = i;
            }

            var n = ll / CodePoints(choices[i]);
            if (i == 0 || n > bestNorm)
            {
                bestNorm = n;
                norm = i;
            }

            var b = ll / Encoding.UTF8.GetByteCount(choices[i]);
            if (i == 0 || b > bestBytes)
            {
                bestBytes = b;
                bytes = i;
            }
        }

        return (pred, norm, bytes);
    }

    public static int CodePoints(string s)
    {
        var n = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            n++;
        }

        return n;
    }

    /// <summary>lm-evaluation-harness mean_stderr: sample standard deviation (ddof 1) over √n.</summary>
    public static double StandardError(IReadOnlyList<double> values)
    {
        var n = values.Count;
        if (n < 2)
        {
            return double.NaN;
        }

        double mean = 0;
        foreach (var v in values)
        {
            mean += v;
        }

        mean /= n;
        double sq = 0;
        foreach (var v in values)
        {
            sq += (v - mean) * (v - mean);
        }

        return Math.Sqrt(sq / (n - 1)) / Math.Sqrt(n);
    }

    public static double Mean(IReadOnlyList<double> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += v;
        }

        return values.Count > 0 ? sum / values.Count : double.NaN;
    }

    /// <summary>Exact match after <see cref="NormalizeAnswer"/>, best over the gold answers.</summary>
    public static double ExactMatch(string prediction, IReadOnlyList<string> answers)
    {
        var p = NormalizeAnswer(prediction);
        foreach (var a in answers)
        {
            if (p == NormalizeAnswer(a))
            {
                return 1;
            }
        }

        return 0;
    }

    /// <summary>SQuAD's F1 with characters as the tokens (Japanese has no spaces), after <see cref="NormalizeAnswer"/>, best over the gold answers.</summary>
    public static double CharF1(string prediction, IReadOnlyList<string> answers)
    {
        var p = Runes(NormalizeAnswer(prediction));
        double best = 0;
        foreach (var a in answers)
        {
            var g = Runes(NormalizeAnswer(a));
            if (p.Count == 0 || g.Count == 0)
            {
                best = Math.Max(best, p.Count == g.Count ? 1 : 0);
                continue;
            }

            var counts = new Dictionary<Rune, int>();
            foreach (var r in g)
            {
                counts[r] = counts.GetValueOrDefault(r) + 1;
            }

            var common = 0;
            foreach (var r in p)
            {
                if (counts.TryGetValue(r, out var c) && c > 0)
                {
                    counts[r] = c - 1;
                    common++;
                }
            }

            if (common > 0)
            {
                var precision = (double)common / p.Count;
                var recall = (double)common / g.Count;
                best = Math.Max(best, 2 * precision * recall / (precision + recall));
            }
        }

        return best;
    }

    /// <summary>Whitespace (ASCII and ideographic) and punctuation removed, Latin letters lower-cased.</summary>
    public static string NormalizeAnswer(string s)
    {
        var builder = new StringBuilder(s.Length);
        foreach (var r in s.Normalize(NormalizationForm.FormKC).EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(r) || Rune.IsPunctuation(r) || Rune.IsSymbol(r))
            {
                continue;
            }

            builder.Append(Rune.ToLowerInvariant(r).ToString());
        }

        return builder.ToString();
    }

    /// <summary>
    /// Share of the continuation's token n-grams that already occurred earlier in it: 0 for text that never
    /// repeats itself, close to 1 for a model looping on one phrase. 0 when it has fewer than n tokens.
    /// </summary>
    public static double RepetitionRate(ReadOnlySpan<int> tokens, int n)
    {
        if (n < 1 || tokens.Length < n)
        {
            return 0;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var repeated = 0;
        var total = tokens.Length - n + 1;
        var key = new StringBuilder();
        for (var i = 0; i < total; i++)
        {
            key.Clear();
            for (var j = 0; j < n; j++)
            {
                key.Append(tokens[i + j]).Append(',');
            }

            if (!seen.Add(key.ToString()))
            {
                repeated++;
            }
        }

        return (double)repeated / total;
    }

    private static List<Rune> Runes(string s)
    {
        var list = new List<Rune>(s.Length);
        foreach (var r in s.EnumerateRunes())
        {
            list.Add(r);
        }

        return list;
    }
}

/// <summary>
/// SplitMix64: a small, fully specified generator, so that a seed gives the same few-shot draw and the same
/// samples on every machine and .NET version.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public static SplitMix64 For(long seed, long stream) => new(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream));

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) without modulo bias.</summary>
    public int NextInt(int n)
    {
        var limit = ulong.MaxValue - (ulong.MaxValue % (ulong)n);
        ulong x;
        do
        {
            x = Next();
        }
        while (x >= limit);
        return (int)(x % (ulong)n);
    }

    /// <summary>k distinct indices of [0, n) in draw order (a partial Fisher–Yates shuffle).</summary>
    public int[] Sample(int n, int k)
    {
        var pool = new int[n];
        for (var i = 0; i < n; i++)
        {
            pool[i] = i;
        }

        k = Math.Min(k, n);
        for (var i = 0; i < k; i++)
        {
            var j = i + NextInt(n - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        return pool[..k];
    }
}
