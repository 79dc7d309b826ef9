using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Jiniac.Trainer.Evaluation;

/// <summary>Scores the tasks and draws the generation samples of an EVAL.json.</summary>
public sealed class TaskRunner(ModelScorer scorer, ILogger logger)
{
    private static readonly JsonSerializerOptions SampleJson = new(JobJson.Options) { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public TaskResult Run(TaskJob task, string outputFolder)
    {
        if (!TaskFormats.IsKnown(task.Format))
        {
            throw new InvalidDataException($"task '{task.Name}': unknown format '{task.Format}' (jcommonsenseqa, jnli or jsquad)");
        }

        var docs = TaskFormats.Load(task.Format, task.Path);
        if (task.Limit > 0 && docs.Count > task.Limit)
        {
            docs.RemoveRange(task.Limit, docs.Count - task.Limit);
        }

        List<TaskDocument> shotPool = [];
        if (task.NumFewshot > 0)
        {
            if (task.FewshotPath is null)
            {
                throw new InvalidDataException($"task '{task.Name}': num_fewshot {task.NumFewshot} needs fewshot_path (a separate split to draw the shots from)");
            }

            shotPool = TaskFormats.Load(task.Format, task.FewshotPath);
            if (shotPool.Count < task.NumFewshot)
            {
                throw new InvalidDataException($"task '{task.Name}': {task.FewshotPath} has {shotPool.Count} documents, fewer than num_fewshot {task.NumFewshot}");
            }
        }

        var samplesFile = Path.Combine(outputFolder, "samples_" + SafeName(task.Name) + ".jsonl");
        using var samples = new StreamWriter(samplesFile, append: false);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (TaskFormats.IsGenerative(task.Format))
        {
            var em = new List<double>(docs.Count);
            var f1 = new List<double>(docs.Count);
            for (var i = 0; i < docs.Count; i++)
            {
                var doc = docs[i];
                var context = TaskFormats.FewshotContext(task.Format, Shots(task, shotPool, i), doc);
                // greedy_until the harness's SEP ("\n"), at most max_new_tokens.
                var (text, _) = scorer.Generate(context, task.MaxNewTokens, 1.0, 1.0, 1.0, null, ["\n"]);
                var e = TaskMetrics.ExactMatch(text, doc.Answers);
                var f = TaskMetrics.CharF1(text, doc.Answers);
                em.Add(e);
                f1.Add(f);
                samples.WriteLine(JsonSerializer.Serialize(new { doc_id = i, id = doc.Id, context, prediction = text, answers = doc.Answers, exact_match = e, char_f1 = f }, SampleJson));
            }

            metrics["exact_match"] = TaskMetrics.Mean(em);
            metrics["exact_match_stderr"] = TaskMetrics.StandardError(em);
            metrics["char_f1"] = TaskMetrics.Mean(f1);
            metrics["char_f1_stderr"] = TaskMetrics.StandardError(f1);
        }
        else
        {
            var acc = new List<double>(docs.Count);
            var accNorm = new List<double>(docs.Count);
            var accBytes = new List<double>(docs.Count);
            for (var i = 0; i < docs.Count; i++)
            {
                var doc = docs[i];
                var context = TaskFormats.FewshotContext(task.Format, Shots(task, shotPool, i), doc);
                var scored = scorer.LogLikelihoods(context, doc.Choices);
                var lls = new double[scored.Length];
                var greedy = new bool[scored.Length];
                for (var c = 0; c < scored.Length; c++)
                {
                    (lls[c], greedy[c]) = scored[c];
                }

                var (pred, predNorm, predBytes) = TaskMetrics.Predict(lls, doc.Choices);
                acc.Add(pred == doc.Gold ? 1 : 0);
                accNorm.Add(predNorm == doc.Gold ? 1 : 0);
                accBytes.Add(predBytes == doc.Gold ? 1 : 0);
                samples.WriteLine(JsonSerializer.Serialize(new
                {
                    doc_id = i,
                    id = doc.Id,
                    context,
                    choices = doc.Choices,
                    gold = doc.Gold,
                    loglikelihoods = lls,
                    is_greedy = greedy,
                    pred,
                    pred_norm = predNorm,
                    acc = acc[^1],
                    acc_norm = accNorm[^1],
                    acc_bytes = accBytes[^1],
                }, SampleJson));
            }

            metrics["acc"] = TaskMetrics.Mean(acc);
            metrics["acc_stderr"] = TaskMetrics.StandardError(acc);
            metrics["acc_norm"] = TaskMetrics.Mean(accNorm);
            metrics["acc_norm_stderr"] = TaskMetrics.StandardError(accNorm);
            metrics["acc_bytes"] = TaskMetrics.Mean(accBytes);
        }

        EvaluationLog.TaskEvaluated(logger, task.Name, docs.Count, string.Join(", ", metrics.Select(m => $"{m.Key} {m.Value.ToString("F4", CultureInfo.InvariantCulture)}")));
        return new TaskResult
        {
            Name = task.Name,
            Format = task.Format,
            NumFewshot = task.NumFewshot,
            Count = docs.Count,
            Metrics = metrics,
            SamplesFile = samplesFile,
        };
    }

    public List<GenerationResult> Generate(GenerationJob job)
    {
        if (job.MaxNewTokens <= 0 || job.Samples < 0 || !(job.Temperature > 0) || !(job.TopP is > 0 and <= 1) || !(job.RepetitionPenalty > 0) || job.Ngram < 1)
        {
            throw new InvalidDataException("generation: max_new_tokens > 0, samples ≥ 0, temperature > 0, 0 < top_p ≤ 1, repetition_penalty > 0 and ngram ≥ 1");
        }

        var results = new List<GenerationResult>();
        for (var p = 0; p < job.Prompts.Count; p++)
        {
            var prompt = job.Prompts[p];
            if (job.Greedy)
            {
                results.Add(One(job, prompt, "greedy", 0, null));
            }

            for (var s = 0; s < job.Samples; s++)
            {
                // One stream per (prompt, sample): adding a prompt does not change the others' samples.
                results.Add(One(job, prompt, "sample", s, SplitMix64.For(job.Seed, ((long)p << 20) + s)));
            }
        }

        return results;
    }

    private GenerationResult One(GenerationJob job, string prompt, string mode, int index, SplitMix64? random)
    {
        var (text, tokens) = scorer.Generate(prompt, job.MaxNewTokens, job.RepetitionPenalty, job.Temperature, job.TopP, random, []);
        var rate = TaskMetrics.RepetitionRate(tokens, job.Ngram);
        EvaluationLog.Generated(logger, mode, tokens.Length, rate);
        return new GenerationResult { Name = job.Name, Prompt = prompt, Mode = mode, Index = index, Text = text, Tokens = tokens.Length, RepetitionRate = rate };
    }

    /// <summary>The shots of document <paramref name="docIndex"/>: a draw without replacement keyed by (seed, document), so a limit or a reordering of other documents does not change them.</summary>
    private static List<TaskDocument> Shots(TaskJob task, List<TaskDocument> pool, int docIndex)
    {
        if (task.NumFewshot == 0)
        {
            return [];
        }

        var picked = SplitMix64.For(task.Seed, docIndex).Sample(pool.Count, task.NumFewshot);
        var shots = new List<TaskDocument>(picked.Length);
        foreach (var i in picked)
        {
            shots.Add(pool[i]);
        }

        return shots;
    }

    private static string SafeName(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '-' or '_' or '.'))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}
