using System.Globalization;

namespace Jiniac.Contracts.Pipeline;

// evaluation.suites and evaluation.gates (docs/pipeline-reference.md, "Evaluation suites and gates").
public static partial class PipelineLoader
{
    private sealed partial class Reader
    {
        private static readonly string[] TaskFormats = ["jcommonsenseqa", "jnli", "jsquad"];
        private static readonly string[] HarnessResults = ["lm-eval", "llm-jp-eval"];
        private static readonly string[] PolicyWords = ["stage_end", "best"];

        private List<EvaluationSuiteSpec> ReadSuites(YamlSection evaluation, TrainingSpec training)
        {
            var suites = new List<EvaluationSuiteSpec>();
            var items = evaluation.Items("suites", required: false);
            if (items is null)
            {
                return suites;
            }

            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (node, path) in items)
            {
                var section = YamlSection.Of(diagnostics, node, node.Start, path);
                var name = section.RequiredString("name");
                CheckName(section, "name", name, "suite name");
                if (section.Ok("name") && name.Length > 0 && !names.Add(name))
                {
                    section.Error("name", $"suite name '{name}' is used twice");
                }

                var when = ReadPolicy(section, training);
                var tasks = ReadTasks(section);
                var generationSection = section.Section("generation", required: false);
                var generation = generationSection is null ? null : ReadGeneration(generationSection);
                var harnessSection = section.Section("harness", required: false);
                var harness = harnessSection is null ? null : ReadHarness(harnessSection);
                if (section.IsPresent && tasks.Count == 0 && generation is null && harness is null && section.Ok("tasks"))
                {
                    section.Error("name", $"suite '{name}' has nothing to run: give tasks, generation or harness");
                }

                section.Finish();
                suites.Add(new EvaluationSuiteSpec { Name = name, When = when, Tasks = tasks, Generation = generation, Harness = harness });
            }

            return suites;
        }

        /// <summary>when: a word or a list of them — stage_end, best, every_n_steps: N.</summary>
        private static CheckpointPolicy ReadPolicy(YamlSection suite, TrainingSpec training)
        {
            var everyN = suite.Int("every_n_steps", 0);
            suite.Check("every_n_steps", everyN >= 0, "must be at least 0 (0 = none)");
            if (suite.Ok("every_n_steps") && everyN > 0 && training.CheckpointInterval > 0)
            {
                suite.Check("every_n_steps", everyN % training.CheckpointInterval == 0,
                    $"must be a multiple of training.checkpoint_interval ({training.CheckpointInterval.ToString(CultureInfo.InvariantCulture)}): only saved checkpoints can be evaluated");
            }

            var words = suite.StringList("when");
            if (words is null)
            {
                return new CheckpointPolicy { StageEnd = true, EveryNSteps = everyN };
            }

            var stageEnd = false;
            var best = false;
            foreach (var (word, at, path) in words)
            {
                switch (word)
                {
                    case "stage_end":
                        stageEnd = true;
                        break;
                    case "best":
                        best = true;
                        break;
                    default:
                        suite.Diagnostics.Add(at, path, $"'{word}' is not a checkpoint policy: use {string.Join(", ", PolicyWords)} (and every_n_steps: N for periodic checkpoints)");
                        break;
                }
            }

            return new CheckpointPolicy { StageEnd = stageEnd, Best = best, EveryNSteps = everyN };
        }

        private List<EvalTaskSpec> ReadTasks(YamlSection suite)
        {
            var tasks = new List<EvalTaskSpec>();
            var items = suite.Items("tasks", required: false);
            if (items is null)
            {
                return tasks;
            }

            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (node, path) in items)
            {
                var section = YamlSection.Of(diagnostics, node, node.Start, path);
                var defaults = new EvalTaskSpec { Name = "", Format = "", Path = "" };
                var name = section.RequiredString("name");
                CheckName(section, "name", name, "task name");
                if (section.Ok("name") && name.Length > 0 && !names.Add(name))
                {
                    section.Error("name", $"task name '{name}' is used twice in this suite");
                }

                var format = section.RequiredString("format");
                if (section.Ok("format") && format.Length > 0)
                {
                    section.Check("format", Array.IndexOf(TaskFormats, format) >= 0, $"'{format}' is not a task format: use {string.Join(", ", TaskFormats)}");
                }

                var file = ExistingFile(section, "path", required: true);
                var fewshot = ExistingFile(section, "fewshot_path", required: false);
                var shots = section.Int("num_fewshot", defaults.NumFewshot);
                section.Check("num_fewshot", shots >= 0, "must be at least 0");
                if (section.Ok("num_fewshot") && shots > 0 && !section.Has("fewshot_path"))
                {
                    section.Error("num_fewshot", "few-shot examples come from a separate split: give fewshot_path");
                }

                var seed = section.Long("seed", defaults.Seed);
                var limit = section.Int("limit", defaults.Limit);
                section.Check("limit", limit >= 0, "must be at least 0 (0 = all documents)");
                var maxNew = section.Int("max_new_tokens", defaults.MaxNewTokens);
                section.Check("max_new_tokens", maxNew >= 1, "must be at least 1");
                section.Finish();
                tasks.Add(new EvalTaskSpec
                {
                    Name = name, Format = format, Path = file ?? "", FewshotPath = fewshot, NumFewshot = shots, Seed = seed, Limit = limit, MaxNewTokens = maxNew,
                });
            }

            return tasks;
        }

        private static GenerationSpec ReadGeneration(YamlSection section)
        {
            var defaults = new GenerationSpec { Prompts = [] };
            var prompts = new List<string>();
            var listed = section.StringList("prompts");
            if (listed is null)
            {
                if (section.IsPresent && section.Ok("prompts"))
                {
                    section.Error("prompts", "list at least one prompt");
                }
            }
            else
            {
                prompts.AddRange(listed.Select(p => p.Value));
                section.Check("prompts", prompts.Count >= 1, "list at least one prompt");
            }

            var maxNew = section.Int("max_new_tokens", defaults.MaxNewTokens);
            section.Check("max_new_tokens", maxNew >= 1, "must be at least 1");
            var greedy = section.Bool("greedy", defaults.Greedy);
            var samples = section.Int("samples", defaults.Samples);
            section.Check("samples", samples >= 0, "must be at least 0");
            var temperature = section.Double("temperature", defaults.Temperature);
            section.Check("temperature", temperature > 0, "must be greater than 0");
            var topP = section.Double("top_p", defaults.TopP);
            section.Check("top_p", topP is > 0 and <= 1, "must be in (0, 1]");
            var penalty = section.Double("repetition_penalty", defaults.RepetitionPenalty);
            section.Check("repetition_penalty", penalty > 0, "must be greater than 0 (1 = off)");
            var seed = section.Long("seed", defaults.Seed);
            var ngram = section.Int("ngram", defaults.Ngram);
            section.Check("ngram", ngram >= 1, "must be at least 1");
            if (section.IsPresent && !greedy && samples == 0 && section.Ok("samples"))
            {
                section.Error("samples", "with greedy: false, ask for at least one sample");
            }

            section.Finish();
            return new GenerationSpec
            {
                Prompts = prompts, MaxNewTokens = maxNew, Greedy = greedy, Samples = samples, Temperature = temperature, TopP = topP,
                RepetitionPenalty = penalty, Seed = seed, Ngram = ngram,
            };
        }

        private static HarnessSpec ReadHarness(YamlSection section)
        {
            var defaults = new HarnessSpec { Command = "", Results = "" };
            var command = section.RequiredString("command");
            section.Check("command", !section.Has("command") || command.Trim().Length > 0, "cannot be empty");
            var results = section.RequiredString("results");
            if (section.Ok("results") && results.Length > 0)
            {
                section.Check("results", Array.IndexOf(HarnessResults, results) >= 0, $"'{results}' is not a results format: use {string.Join(" or ", HarnessResults)}");
            }

            var timeout = section.Int("timeout_seconds", defaults.TimeoutSeconds);
            section.Check("timeout_seconds", timeout >= 1, "must be at least 1");
            section.Finish();
            return new HarnessSpec { Command = command, Results = results, TimeoutSeconds = timeout };
        }

        private List<GateSpec> ReadGates(YamlSection evaluation, List<EvaluationSuiteSpec> suites)
        {
            var gates = new List<GateSpec>();
            var items = evaluation.Items("gates", required: false);
            if (items is null)
            {
                return gates;
            }

            foreach (var (node, path) in items)
            {
                var section = YamlSection.Of(diagnostics, node, node.Start, path);
                var metric = section.RequiredString("metric");
                var slash = metric.IndexOf('/');
                if (section.Ok("metric") && metric.Length > 0)
                {
                    var head = slash > 0 ? metric[..slash] : "";
                    var known = head is "perplexity" or "bits_per_byte" or "loss"
                        ? metric.Length > slash + 1
                        : suites.Exists(s => s.Name == head) && metric.Length > slash + 1;
                    section.Check("metric", known,
                        $"'{metric}' names no metric: use perplexity/DOMAIN, bits_per_byte/DOMAIN, loss/DOMAIN or SUITE/... (SUITE/TASK/METRIC, SUITE/generation/repetition_rate, a harness's SUITE/TASK/METRIC or SUITE/SCORE) of a suite listed above ({string.Join(", ", suites.Select(s => s.Name))})");
                }

                var min = section.OptionalDouble("min");
                var max = section.OptionalDouble("max");
                var regression = section.OptionalDouble("max_regression_percent");
                section.Check("max_regression_percent", regression is null or >= 0, "must be at least 0");
                bool? higher = section.Has("higher_is_better") ? section.Bool("higher_is_better", true) : null;
                if (section.IsPresent && min is null && max is null && regression is null && section.Ok("min"))
                {
                    section.Error("metric", "a gate needs min, max or max_regression_percent");
                }

                section.Finish();
                gates.Add(new GateSpec { Metric = metric, Min = min, Max = max, MaxRegressionPercent = regression, HigherIsBetter = higher });
            }

            return gates;
        }

        private string? ExistingFile(YamlSection section, string key, bool required)
        {
            var text = required ? section.RequiredString(key) : section.String(key);
            if (text is null || (required && text.Length == 0 && !section.Has(key)))
            {
                return null;
            }

            var resolved = ResolvePath(section, key, text);
            if (resolved is not null && !File.Exists(resolved))
            {
                section.Error(key, $"file not found '{resolved}'");
            }

            return resolved;
        }
    }
}
