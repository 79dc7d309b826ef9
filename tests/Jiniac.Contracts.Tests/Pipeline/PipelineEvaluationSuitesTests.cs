using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>evaluation.suites and evaluation.gates: the example of docs/pipeline-reference.md loads, and bad keys are refused with their line.</summary>
public sealed class PipelineEvaluationSuitesTests
{
    [Fact]
    public void The_suites_example_of_the_reference_loads()
    {
        using var folder = Folder();
        var spec = PipelineLoader.Parse(ExampleYaml(), "pipeline.yaml", folder.Root);

        var suites = spec.Evaluation.Suites;
        Assert.Equal(["ja-mc", "lm-eval"], suites.Select(s => s.Name));
        Assert.Equal(new CheckpointPolicy { StageEnd = true, Best = true, EveryNSteps = 100 }, suites[0].When);
        var task = Assert.Single(suites[0].Tasks);
        Assert.Equal(("man", "jcommonsenseqa", folder.PathOf("eval/ja-man-mc/test.jsonl"), folder.PathOf("eval/ja-man-mc/fewshot.jsonl"), 2, 1234L, 50),
            (task.Name, task.Format, task.Path, task.FewshotPath, task.NumFewshot, task.Seed, task.Limit));
        var generation = suites[0].Generation!;
        Assert.Equal(["日本の首都は", "Debian とは"], generation.Prompts);
        Assert.Equal((32, true, 2, 0.8, 0.9, 1.1), (generation.MaxNewTokens, generation.Greedy, generation.Samples, generation.Temperature, generation.TopP, generation.RepetitionPenalty));
        Assert.Equal(new CheckpointPolicy(), suites[1].When);
        Assert.Equal(("lm-eval", 1800), (suites[1].Harness!.Results, suites[1].Harness!.TimeoutSeconds));
        Assert.Contains("pretrained={model_dir}", suites[1].Harness!.Command);
        Assert.Equal(
            [new GateSpec { Metric = "ja-mc/man/acc", Min = 0.25 }, new GateSpec { Metric = "perplexity/ja-docs", MaxRegressionPercent = 10 }],
            spec.Evaluation.Gates);
        Assert.True(spec.Evaluation.Gates[0].IsHigherBetter);
        Assert.False(spec.Evaluation.Gates[1].IsHigherBetter);
    }

    [Fact]
    public void The_quickstart_pipeline_loads_with_its_light_suite_on_the_shipped_set()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Jiniac.Platform.sln")))
        {
            dir = dir.Parent;
        }

        var spec = PipelineLoader.Load(Path.Combine(dir.FullName, "examples", "quickstart", "pipeline.yaml"));
        var suite = Assert.Single(spec.Evaluation.Suites);
        Assert.Equal(new CheckpointPolicy { EveryNSteps = 200 }, suite.When);
        var task = Assert.Single(suite.Tasks);
        Assert.Equal((Path.Combine(dir.FullName, "examples", "eval", "ja-man-mc", "test.jsonl"), 100), (task.Path, task.Limit));
        Assert.Equal(3, suite.Generation!.Prompts.Count);
        Assert.Empty(spec.Evaluation.Gates);
    }

    [Fact]
    public void Bad_suite_and_gate_keys_are_refused_with_their_lines()
    {
        using var folder = Folder();
        var yaml = ExampleYaml()
            .Replace("every_n_steps: 100", "every_n_steps: 75", StringComparison.Ordinal)
            .Replace("format: jcommonsenseqa", "format: jcqa", StringComparison.Ordinal)
            .Replace("fewshot_path: eval/ja-man-mc/fewshot.jsonl", "fewshot_path: eval/missing.jsonl", StringComparison.Ordinal)
            .Replace("when: [stage_end, best]", "when: [stage_end, sometimes]", StringComparison.Ordinal)
            .Replace("results: lm-eval ", "results: helm ", StringComparison.Ordinal)
            .Replace("metric: ja-mc/man/acc", "metric: nosuch/man/acc", StringComparison.Ordinal)
            .Replace("max_regression_percent: 10", "max_regression_percent: -1", StringComparison.Ordinal);
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse(yaml, "pipeline.yaml", folder.Root));
        var lines = yaml.Split('\n');
        int LineOf(string text) => Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal)) + 1;
        void Has(string text, string path, string message) =>
            Assert.Contains(e.Errors, x => x.Line == LineOf(text) && x.Path == path && x.Message.Contains(message, StringComparison.Ordinal));

        Has("every_n_steps: 75", "evaluation.suites[0].every_n_steps", "multiple of training.checkpoint_interval (50)");
        Has("format: jcqa", "evaluation.suites[0].tasks[0].format", "'jcqa' is not a task format");
        Has("fewshot_path: eval/missing.jsonl", "evaluation.suites[0].tasks[0].fewshot_path", "file not found");
        Has("when: [stage_end, sometimes]", "evaluation.suites[0].when[1]", "'sometimes' is not a checkpoint policy");
        Has("results: helm", "evaluation.suites[1].harness.results", "'helm' is not a results format");
        Has("metric: nosuch/man/acc", "evaluation.gates[0].metric", "names no metric");
        Has("max_regression_percent: -1", "evaluation.gates[1].max_regression_percent", "must be at least 0");
        Assert.Equal(7, e.Errors.Count);
    }

    [Fact]
    public void Few_shot_without_a_separate_split_and_an_empty_suite_are_refused()
    {
        using var folder = Folder();
        var yaml = ExampleYaml()
            .Replace("          fewshot_path: eval/ja-man-mc/fewshot.jsonl   # a separate split the shots come from\n", "", StringComparison.Ordinal)
            .Replace("      harness:\n", "      harnes:\n", StringComparison.Ordinal);
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse(yaml, "pipeline.yaml", folder.Root));
        Assert.Contains(e.Errors, x => x.Path == "evaluation.suites[0].tasks[0].num_fewshot" && x.Message.Contains("give fewshot_path", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "evaluation.suites[1].name" && x.Message.Contains("nothing to run", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "evaluation.suites[1].harnes");
    }

    private static TempFolder Folder()
    {
        var folder = new TempFolder();
        folder.Write("tokenizer.json", "{}");
        folder.Write("eval/ja-man-mc/test.jsonl", "{}\n");
        folder.Write("eval/ja-man-mc/fewshot.jsonl", "{}\n");
        folder.Write("data/ja-docs/a.md", "# はじめに");
        return folder;
    }

    private static string ExampleYaml() => ReferenceDoc.YamlAfter("## Evaluation suites and gates");
}
