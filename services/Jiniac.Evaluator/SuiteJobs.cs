using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Evaluator;

/// <summary>Suites of EvaluateCheckpoint as EVAL.json tasks and generations (named SUITE/TASK and SUITE), and their results as named metrics.</summary>
internal static class SuiteJobs
{
    public static List<EvalJobTask> Tasks(IReadOnlyList<EvaluationSuiteSpec> suites)
    {
        var tasks = new List<EvalJobTask>();
        foreach (var suite in suites)
        {
            foreach (var t in suite.Tasks)
            {
                tasks.Add(new EvalJobTask
                {
                    Name = $"{suite.Name}/{t.Name}",
                    Format = t.Format,
                    Path = t.Path,
                    FewshotPath = t.FewshotPath,
                    NumFewshot = t.NumFewshot,
                    Seed = t.Seed,
                    Limit = t.Limit,
                    MaxNewTokens = t.MaxNewTokens,
                });
            }
        }

        return tasks;
    }

    public static List<EvalJobGeneration> Generations(IReadOnlyList<EvaluationSuiteSpec> suites)
    {
        var generations = new List<EvalJobGeneration>();
        foreach (var suite in suites)
        {
            if (suite.Generation is { } g)
            {
                generations.Add(new EvalJobGeneration
                {
                    Name = suite.Name,
                    Prompts = g.Prompts,
                    MaxNewTokens = g.MaxNewTokens,
                    Greedy = g.Greedy,
                    Samples = g.Samples,
                    Temperature = g.Temperature,
                    TopP = g.TopP,
                    RepetitionPenalty = g.RepetitionPenalty,
                    Seed = g.Seed,
                    Ngram = g.Ngram,
                });
            }
        }

        return generations;
    }

    /// <summary>SUITE/TASK/METRIC for every task metric, SUITE/generation/repetition_rate (mean over samples), and the samples themselves.</summary>
    public static void Collect(EvalResults results, EvalJob job, List<EvaluationMetric> metrics, List<GenerationSample> generations)
    {
        foreach (var asked in job.Tasks)
        {
            var found = results.Tasks?.FirstOrDefault(t => t.Name == asked.Name)
                ?? throw new EvaluationException($"results.json has no result for task '{asked.Name}'");
            foreach (var (name, value) in found.Metrics ?? [])
            {
                if (double.IsFinite(value))
                {
                    metrics.Add(new EvaluationMetric { Name = $"{asked.Name}/{name}", Value = value });
                }
            }
        }

        foreach (var asked in job.Generations)
        {
            var samples = (results.Generations ?? []).Where(g => g.Name == asked.Name).ToList();
            if (samples.Count == 0)
            {
                throw new EvaluationException($"results.json has no generations for suite '{asked.Name}'");
            }

            foreach (var s in samples)
            {
                generations.Add(new GenerationSample
                {
                    Suite = asked.Name, Prompt = s.Prompt ?? "", Mode = s.Mode ?? "", Text = s.Text ?? "", Tokens = s.Tokens, RepetitionRate = s.RepetitionRate,
                });
            }

            metrics.Add(new EvaluationMetric { Name = $"{asked.Name}/generation/repetition_rate", Value = samples.Average(s => s.RepetitionRate) });
        }
    }
}
