using System.Globalization;

namespace Jiniac.TrainLauncher.Megatron;

/// <summary>One progress line of Megatron-LM's training loop, by field name (reference/megatron-training-log.md).</summary>
internal sealed record MegatronProgress
{
    public DateTimeOffset? Time { get; init; }
    public required long Iteration { get; init; }
    public long? TrainIters { get; init; }
    public long? ConsumedSamples { get; init; }
    public long? SkippedSamples { get; init; }
    public double? ElapsedMsPerIteration { get; init; }
    public double? TflopsPerGpu { get; init; }
    public double? LearningRate { get; init; }
    public long? GlobalBatchSize { get; init; }
    public double? LmLoss { get; init; }
    public double? LossScale { get; init; }
    public double? GradNorm { get; init; }
    public double? ParamsNorm { get; init; }
    public double? NumZeros { get; init; }
    public long? SkippedIterations { get; init; }
    public long? NanIterations { get; init; }
}

/// <summary>
/// Parses Megatron's progress lines: <c>[time] iteration N/ T | name: value | …</c>. Fields are found by name,
/// never by position (versions add, drop and reorder them); a field this parser does not know is ignored.
/// </summary>
internal static class MegatronLog
{
    private const string IterationField = "iteration";

    /// <summary>The progress line's fields, or null when <paramref name="line"/> is not one (any other log output).</summary>
    public static MegatronProgress? TryParse(ReadOnlySpan<char> line)
    {
        // torchrun --tee prefixes "[default7]:"; the timestamp is "[yyyy-MM-dd HH:mm:ss(.ffffff)]". Find the field itself.
        var at = line.IndexOf(IterationField + " ", StringComparison.Ordinal);
        if (at < 0 || line.IndexOf('|') < at)
        {
            return null;
        }

        DateTimeOffset? time = null;
        var open = line[..at].LastIndexOf('[');
        var close = line[..at].LastIndexOf(']');
        if (open >= 0 && close > open && TryParseTime(line[(open + 1)..close], out var parsed))
        {
            time = parsed;
        }

        long iteration = -1;
        long? trainIters = null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var range in line[at..].Split('|'))
        {
            var part = line[at..][range].Trim();
            if (part.IsEmpty)
            {
                continue;
            }

            if (part.StartsWith(IterationField + " ", StringComparison.Ordinal))
            {
                // "iteration      100/   10000": the only field without a colon.
                var value = part[IterationField.Length..];
                var slash = value.IndexOf('/');
                var current = slash < 0 ? value : value[..slash];
                if (!long.TryParse(current.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out iteration))
                {
                    return null;
                }

                if (slash >= 0 && long.TryParse(value[(slash + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var total))
                {
                    trainIters = total;
                }

                continue;
            }

            var colon = part.LastIndexOf(':');
            if (colon > 0)
            {
                fields[part[..colon].Trim().ToString()] = part[(colon + 1)..].Trim().ToString();
            }
        }

        if (iteration < 0)
        {
            return null;
        }

        return new MegatronProgress
        {
            Time = time,
            Iteration = iteration,
            TrainIters = trainIters,
            ConsumedSamples = Whole(fields, "consumed samples"),
            SkippedSamples = Whole(fields, "skipped samples"),
            ElapsedMsPerIteration = Number(fields, "elapsed time per iteration (ms)"),
            TflopsPerGpu = Number(fields, "throughput per GPU (TFLOP/s/GPU)"),
            LearningRate = Number(fields, "learning rate"),
            GlobalBatchSize = Whole(fields, "global batch size"),
            LmLoss = Number(fields, "lm loss"),
            LossScale = Number(fields, "loss scale"),
            GradNorm = Number(fields, "grad norm"),
            ParamsNorm = Number(fields, "params norm"),
            NumZeros = Number(fields, "num zeros"),
            SkippedIterations = Whole(fields, "number of skipped iterations"),
            NanIterations = Whole(fields, "number of nan iterations"),
        };
    }

    /// <summary>
    /// The generic contract's metrics line for a progress line: <c>step</c> counts this stage's iterations (a stage that
    /// carried the optimizer over starts at <paramref name="iterationOffset"/>); <c>tokens = step × global batch × seq_length</c>
    /// as the contract counts them; tokens/s from the iteration time. A loss Megatron printed as nan/inf stays non-finite.
    /// </summary>
    public static MetricsLine ToMetrics(MegatronProgress progress, int seqLength, long globalBatchSize, long iterationOffset)
    {
        var batch = progress.GlobalBatchSize ?? globalBatchSize;
        var step = progress.Iteration - iterationOffset;
        var tokensPerIteration = (double)batch * seqLength;
        return new MetricsLine
        {
            Step = step,
            Tokens = step * batch * seqLength,
            Loss = progress.LmLoss ?? double.NaN,
            Lr = progress.LearningRate ?? double.NaN,
            GradNorm = progress.GradNorm ?? double.NaN,
            TokensPerSecond = progress.ElapsedMsPerIteration is > 0 and var ms ? tokensPerIteration / (ms / 1000.0) : 0,
        };
    }

    private static bool TryParseTime(ReadOnlySpan<char> text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd HH:mm:ss.ffffff", "yyyy-MM-dd HH:mm:ss"], CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    private static double? Number(Dictionary<string, string> fields, string name)
    {
        if (!fields.TryGetValue(name, out var text))
        {
            return null;
        }

        // Python prints non-finite floats as nan / inf / -inf.
        return text.ToLowerInvariant() switch
        {
            "nan" or "-nan" => double.NaN,
            "inf" or "+inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null,
        };
    }

    private static long? Whole(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
