using System.Reflection;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Tests.Infrastructure;
using Jiniac.Tests.Models;

namespace Jiniac.Evaluator.Tests;

/// <summary>Suites through a real host and bus: tasks and generation by the real evaluate verb on a tiny checkpoint, external harnesses by stand-in commands that write the real result formats.</summary>
public sealed class SuiteTests : IAsyncLifetime
{
    private const string RunId = "run-s";
    private const string Stage = "ja";
    private const string TokenizerKey = "runs/run-s/tokenizer/tokenizer.json";
    private readonly TempFolder _temp = new();
    private ServiceHost _host = null!;
    private TinyLanguageModel _model = null!;

    public async Task InitializeAsync()
    {
        _model = new TinyLanguageModel(Path.Combine(_temp.Path, "checkpoint"), seed: 11);
        _host = await ServiceHost.StartAsync(_temp.Path, new Dictionary<string, string?> { ["Evaluator:Trainer"] = TrainerDll(), ["Evaluator:Threads"] = "1" },
            b => b.AddEvaluatorService(), typeof(EvaluationCompleted), typeof(EvaluationFailed));
        await _host.Blobs.PutFileAsync(TokenizerKey, _model.TokenizerPath, move: false, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _temp.Dispose();
    }

    private EvaluateCheckpoint Command(long step, params EvaluationSuiteSpec[] suites) => new()
    {
        RunId = RunId,
        Stage = Stage,
        Step = step,
        CheckpointFolder = _model.Folder,
        ContextLength = 64,
        Sets = [],
        TokenizerBlob = TokenizerKey,
        Suites = suites,
    };

    [Fact]
    public async Task Tasks_and_generation_come_back_as_named_metrics_and_samples()
    {
        var file = Path.Combine(_temp.Path, "mc.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"q_id": 0, "question": "空の色は?", "choice0": "青", "choice1": "赤いりんご", "choice2": "x", "label": 0}""",
            """{"q_id": 1, "question": "雨の日は?", "choice0": "傘", "choice1": "かさ", "choice2": "umbrella", "label": 2}""",
        ]);
        var suite = new EvaluationSuiteSpec
        {
            Name = "ja",
            Tasks = [new EvalTaskSpec { Name = "mc", Format = "jcommonsenseqa", Path = file }],
            Generation = new GenerationSpec { Prompts = ["abc"], MaxNewTokens = 10, Greedy = true, Samples = 1, Ngram = 2 },
        };

        await _host.Sender.SendAsync(Command(10, suite), CancellationToken.None);
        var completed = await _host.Events.WaitForAsync<EvaluationCompleted>();

        var metrics = completed.Metrics.ToDictionary(m => m.Name, m => m.Value);
        using var results = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_host.Paths.EvalDir(RunId, Stage, 10), "results.json")));
        var task = results.RootElement.GetProperty("tasks")[0];
        Assert.Equal("ja/mc", task.GetProperty("name").GetString());
        foreach (var name in new[] { "acc", "acc_norm", "acc_bytes", "acc_stderr" })
        {
            Assert.Equal(task.GetProperty("metrics").GetProperty(name).GetDouble(), metrics["ja/mc/" + name]);
        }

        Assert.Equal(2, completed.Generations.Count);
        var greedy = completed.Generations.Single(g => g.Mode == "greedy");
        Assert.Equal(("ja", "abc"), (greedy.Suite, greedy.Prompt));
        Assert.Equal(TinyLanguageModel.Decode(_model.Greedy("abc", 10)), greedy.Text);
        Assert.Equal(completed.Generations.Average(g => g.RepetitionRate), metrics["ja/generation/repetition_rate"], 1e-12);
    }

    [Fact]
    public async Task An_lm_evaluation_harness_run_on_the_exported_folder_is_folded_into_the_metrics()
    {
        // A stand-in for `lm_eval --model hf --model_args pretrained={model_dir} --output_path {output_dir}`:
        // it checks the folder transformers would load and writes lm-eval 0.4's results file where lm-eval puts it.
        var script = await ScriptAsync("lm-eval.sh", """
            set -e
            model="$1"; out="$2"
            for f in config.json model.safetensors tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
              [ -s "$model/$f" ] || { echo "missing $f" >&2; exit 9; }
            done
            grep -q '"eos_token": "<|endoftext|>"' "$model/tokenizer_config.json" || { echo "no eos token" >&2; exit 9; }
            mkdir -p "$out/__model"
            cat > "$out/__model/results_2026-12-01T07-00-00.123456.json" <<'JSON'
            {"results": {"jcommonsenseqa": {"alias": "jcommonsenseqa", "acc,none": 0.61, "acc_stderr,none": 0.01, "acc_norm,none": 0.58, "acc_norm_stderr,none": 0.012},
                         "jsquad": {"alias": "jsquad", "exact_match,get-answer": 0.25, "f1,get-answer": "N/A"}},
             "group_subtasks": {"jsquad": [], "jcommonsenseqa": []},
             "configs": {}, "versions": {"jcommonsenseqa": 1.1, "jsquad": 1.1}, "n-shot": {"jcommonsenseqa": 3, "jsquad": 2},
             "config": {"model": "hf", "model_args": "pretrained=/x"}}
            JSON
            echo done
            """);
        var suite = new EvaluationSuiteSpec { Name = "lmeval", Harness = new HarnessSpec { Command = $"/bin/sh {script} {{model_dir}} {{output_dir}}", Results = "lm-eval" } };

        await _host.Sender.SendAsync(Command(20, suite), CancellationToken.None);
        var completed = await _host.Events.WaitForAsync<EvaluationCompleted>(e => e.Step == 20);

        var metrics = completed.Metrics.ToDictionary(m => m.Name, m => m.Value);
        Assert.Equal(0.61, metrics["lmeval/jcommonsenseqa/acc"]);
        Assert.Equal(0.01, metrics["lmeval/jcommonsenseqa/acc_stderr"]);
        Assert.Equal(0.58, metrics["lmeval/jcommonsenseqa/acc_norm"]);
        Assert.Equal(0.25, metrics["lmeval/jsquad/exact_match,get-answer"]);
        Assert.DoesNotContain("lmeval/jsquad/f1,get-answer", metrics.Keys);
        Assert.DoesNotContain(metrics.Keys, k => k.Contains("alias", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_llm_jp_eval_result_file_is_folded_into_the_metrics()
    {
        var script = await ScriptAsync("llm-jp-eval.sh", """
            out="$1"
            cat > "$out/run.json" <<'JSON'
            {"scores": {"jcommonsenseqa_exact_match": "0.8000", "jsquad_char_f1": "0.4512", "MC": "0.8000", "RC": "0.4512", "AVG": "0.6256"},
             "outputs": {"jcommonsenseqa": [{"input": "質問", "pred": "0", "gold": "0"}]}}
            JSON
            """);
        var suite = new EvaluationSuiteSpec { Name = "jp", Harness = new HarnessSpec { Command = $"/bin/sh {script} {{output_dir}}", Results = "llm-jp-eval" } };

        await _host.Sender.SendAsync(Command(30, suite), CancellationToken.None);
        var completed = await _host.Events.WaitForAsync<EvaluationCompleted>(e => e.Step == 30);

        var metrics = completed.Metrics.ToDictionary(m => m.Name, m => m.Value);
        Assert.Equal(0.8, metrics["jp/jcommonsenseqa_exact_match"]);
        Assert.Equal(0.4512, metrics["jp/jsquad_char_f1"]);
        Assert.Equal(0.6256, metrics["jp/AVG"]);
    }

    [Fact]
    public async Task A_failing_harness_fails_the_evaluation_with_its_log_tail()
    {
        var suite = new EvaluationSuiteSpec { Name = "bad", Harness = new HarnessSpec { Command = "echo 'Traceback: model type llama not understood' >&2; exit 3", Results = "lm-eval" } };
        await _host.Sender.SendAsync(Command(40, suite), CancellationToken.None);
        var failed = await _host.Events.WaitForAsync<EvaluationFailed>(e => e.Step == 40);
        Assert.Contains("suite 'bad': the harness exited with code 3", failed.Reason);
        Assert.Contains("Traceback: model type llama not understood", failed.Reason);

        var silent = new EvaluationSuiteSpec { Name = "silent", Harness = new HarnessSpec { Command = "echo ran", Results = "lm-eval" } };
        await _host.Sender.SendAsync(Command(41, silent), CancellationToken.None);
        var empty = await _host.Events.WaitForAsync<EvaluationFailed>(e => e.Step == 41);
        Assert.Contains("wrote no lm-evaluation-harness results file", empty.Reason);
        Assert.Contains("ran", empty.Reason);
    }

    [Fact]
    public async Task A_hanging_harness_is_killed_at_its_timeout_and_fails_the_evaluation()
    {
        var pids = Path.Combine(_temp.Path, "pids");
        var suite = new EvaluationSuiteSpec
        {
            Name = "hang",
            Harness = new HarnessSpec { Command = $"echo $$ > {pids}; sleep 600 & echo $! >> {pids}; echo waiting for the GPU; wait", Results = "lm-eval", TimeoutSeconds = 2 },
        };
        await _host.Sender.SendAsync(Command(50, suite), CancellationToken.None);
        var failed = await _host.Events.WaitForAsync<EvaluationFailed>(e => e.Step == 50, TimeSpan.FromSeconds(60));
        Assert.Contains("ran past its timeout of 2 s and was killed", failed.Reason);
        Assert.Contains("waiting for the GPU", failed.Reason);
        foreach (var pid in await File.ReadAllLinesAsync(pids))
        {
            // The shell and the sleep it started are both gone (killed as one process group).
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (IsAlive(pid) && DateTime.UtcNow < deadline)
            {
                await Task.Yield();
            }

            Assert.False(IsAlive(pid), $"process {pid} of the harness is still running");
        }
    }

    private static bool IsAlive(string pid)
    {
        var stat = $"/proc/{pid.Trim()}/stat";
        // A zombie (state Z) has exited; only its entry is left until its parent reaps it.
        return File.Exists(stat) && !File.ReadAllText(stat).Split(')')[^1].TrimStart().StartsWith('Z');
    }

    private async Task<string> ScriptAsync(string name, string text)
    {
        var path = Path.Combine(_temp.Path, name);
        await File.WriteAllTextAsync(path, text.Replace("\r", "", StringComparison.Ordinal) + "\n");
        return path;
    }

    private static string TrainerDll()
    {
        var configuration = typeof(SuiteTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Jiniac.Platform.sln")))
        {
            dir = dir.Parent;
        }

        var dll = Path.Combine(dir!.FullName, "tools", "Jiniac.Trainer", "bin", configuration, "net10.0", "jiniac-trainer.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build tools/Jiniac.Trainer first: {dll} is missing", dll);
    }
}
