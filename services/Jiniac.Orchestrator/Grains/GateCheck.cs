using System.Globalization;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Orchestrator.Grains;

/// <summary>The gates of evaluation.gates on a stage's final evaluation; each failure a sentence an operator can act on.</summary>
public static class GateCheck
{
    public static List<string> Failures(IReadOnlyList<GateSpec> gates, IReadOnlyList<EvaluationMetric> metrics, IReadOnlyList<EvaluationMetric> previous, string? previousStage)
    {
        var failures = new List<string>();
        foreach (var gate in gates)
        {
            if (Find(metrics, gate.Metric) is not { } value)
            {
                failures.Add($"{gate.Metric} was not measured");
                continue;
            }

            if (gate.Min is { } min && !(value >= min))
            {
                failures.Add($"{gate.Metric} = {F(value)} is below the minimum {F(min)}");
            }

            if (gate.Max is { } max && !(value <= max))
            {
                failures.Add($"{gate.Metric} = {F(value)} is above the maximum {F(max)}");
            }

            if (gate.MaxRegressionPercent is { } allowed && Find(previous, gate.Metric) is { } before)
            {
                // Worsening relative to the previous stage, in percent of its value's magnitude.
                var worse = gate.IsHigherBetter ? before - value : value - before;
                var percent = before != 0 ? worse / Math.Abs(before) * 100 : worse > 0 ? double.PositiveInfinity : 0;
                if (percent > allowed)
                {
                    failures.Add($"{gate.Metric} = {F(value)} regressed {F(percent)}% from {F(before)} at stage '{previousStage}' (at most {F(allowed)}% allowed)");
                }
            }
        }

        return failures;
    }

    /// <summary>Named metrics, with perplexity/bits_per_byte/loss per domain derived from the results when the evaluator did not name them.</summary>
    public static List<EvaluationMetric> WithDomainMetrics(IReadOnlyList<EvaluationMetric> metrics, IReadOnlyList<DomainEvaluation> results)
    {
        var all = new List<EvaluationMetric>(metrics);
        foreach (var r in results)
        {
            foreach (var (name, value) in new[] { ("perplexity/" + r.Domain, r.Perplexity), ("bits_per_byte/" + r.Domain, r.BitsPerByte), ("loss/" + r.Domain, r.Loss) })
            {
                if (double.IsFinite(value) && Find(all, name) is null)
                {
                    all.Add(new EvaluationMetric { Name = name, Value = value });
                }
            }
        }

        return all;
    }

    internal static double? Find(IReadOnlyList<EvaluationMetric> metrics, string name)
    {
        foreach (var m in metrics)
        {
            if (string.Equals(m.Name, name, StringComparison.Ordinal))
            {
                return m.Value;
            }
        }

        return null;
    }

    private static string F(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
