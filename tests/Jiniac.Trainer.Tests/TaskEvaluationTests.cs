using System.Text;
using System.Text.Json;
using Jiniac.Tests.Models;

namespace Jiniac.Trainer.Tests;

/// <summary>
/// The evaluate verb's benchmark tasks and generation samples, checked against <see cref="TinyLanguageModel"/>'s
/// own forward pass and against lm-evaluation-harness's definitions computed here by hand.
/// </summary>
public sealed class TaskEvaluationTests : IDisposable
{
    private const string JcqaDescription = "[問題]に対する[答え]を[選択肢]の中から選んでください。\n\n";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "jiniac-tasks-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly TinyLanguageModel _model;

    public TaskEvaluationTests()
    {
        _model = new TinyLanguageModel(Path.Combine(_root, "model"), seed: 7);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly string[][] Questions =
    [
        ["空の色は?", "青", "あおいろのそら", "A", "𠮷野家の看板", "みどり"],
        ["猫が好きな食べ物は?", "魚", "キャットフード", "ねずみ", "fish", "ミルクとパン"],
        ["雨の日に使うものは?", "傘", "レインコート", "長靴", "umbrella", "かさ"],
        ["朝に食べるものは?", "朝ご飯", "パン", "ごはんと味噌汁", "egg", "納豆"],
    ];

    [Fact]
    public async Task Multiple_choice_log_likelihoods_match_the_models_forward_pass_and_acc_norm_is_the_harness_definition()
    {
        // The context of each document, as jcommonsenseqa-1.1-0.1 renders it (0-shot: description + text).
        var contexts = Questions.Select(q => JcqaDescription + $"[問題]:{q[0]}\n[選択肢]:[{string.Join(", ", q[1..])}]\n[答え]:").ToArray();
        var lls = contexts.Select((c, d) => Questions[d][1..].Select(choice => _model.LogLikelihood(c, choice)).ToArray()).ToArray();

        // Labels are the per-character argmax of the hand computation, so acc and acc_norm must disagree.
        var labels = new int[Questions.Length];
        var differing = 0;
        for (var d = 0; d < Questions.Length; d++)
        {
            var (pred, norm, _) = Predict(lls[d], Questions[d][1..]);
            labels[d] = norm;
            differing += pred != norm ? 1 : 0;
        }

        Assert.True(differing >= 2, "the fixture needs documents where log-likelihood and per-character argmax differ");
        var file = Path.Combine(_root, "jcqa.jsonl");
        File.WriteAllLines(file, Questions.Select((q, d) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["q_id"] = d, ["question"] = q[0], ["choice0"] = q[1], ["choice1"] = q[2], ["choice2"] = q[3], ["choice3"] = q[4], ["choice4"] = q[5], ["label"] = labels[d],
        })));

        var (results, folder) = await EvaluateAsync("mc", [Task("jcqa", "jcommonsenseqa", file)]);
        var samples = Samples(folder, "jcqa");
        Assert.Equal(Questions.Length, samples.Count);
        double acc = 0, accNorm = 0, accBytes = 0;
        for (var d = 0; d < Questions.Length; d++)
        {
            var s = samples[d];
            Assert.Equal(contexts[d], s.GetProperty("context").GetString());
            var got = s.GetProperty("loglikelihoods").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (var c = 0; c < got.Length; c++)
            {
                // float32 in libtorch against doubles here.
                Assert.True(Math.Abs(got[c] - lls[d][c]) < 2e-3 * Math.Max(1, Math.Abs(lls[d][c])), $"doc {d} choice {c}: evaluator {got[c]}, forward pass {lls[d][c]}");
            }

            var (pred, norm, bytes) = Predict(lls[d], Questions[d][1..]);
            acc += pred == labels[d] ? 1 : 0;
            accNorm += norm == labels[d] ? 1 : 0;
            accBytes += bytes == labels[d] ? 1 : 0;
        }

        var metrics = Metrics(results, "jcqa");
        Assert.Equal(acc / Questions.Length, metrics["acc"], 1e-12);
        Assert.Equal(accNorm / Questions.Length, metrics["acc_norm"], 1e-12);
        Assert.Equal(accBytes / Questions.Length, metrics["acc_bytes"], 1e-12);
        Assert.NotEqual(metrics["acc"], metrics["acc_norm"]);
        var mean = acc / Questions.Length;
        var stderr = Math.Sqrt(((acc * (1 - mean) * (1 - mean)) + ((Questions.Length - acc) * mean * mean)) / (Questions.Length - 1)) / Math.Sqrt(Questions.Length);
        Assert.Equal(stderr, metrics["acc_stderr"], 1e-12);
    }

    [Fact]
    public async Task Few_shot_prompts_draw_from_the_separate_split_deterministically_by_seed()
    {
        var test = Path.Combine(_root, "test.jsonl");
        var train = Path.Combine(_root, "train.jsonl");
        WriteJcqa(test, Questions[..2]);
        WriteJcqa(train, Questions[2..]);

        var (_, a) = await EvaluateAsync("shots-a", [Task("t", "jcommonsenseqa", test, train, shots: 1, seed: 1)]);
        var (_, b) = await EvaluateAsync("shots-b", [Task("t", "jcommonsenseqa", test, train, shots: 1, seed: 1)]);
        var (_, c) = await EvaluateAsync("shots-c", [Task("t", "jcommonsenseqa", test, train, shots: 2, seed: 99)]);
        var first = Samples(a, "t").Select(s => s.GetProperty("context").GetString()!).ToList();
        Assert.Equal(first, Samples(b, "t").Select(s => s.GetProperty("context").GetString()!));

        var shotTexts = Questions[2..].Select(q => $"[問題]:{q[0]}\n[選択肢]:[{string.Join(", ", q[1..])}]\n[答え]:{q[1]}").ToArray();
        for (var d = 0; d < 2; d++)
        {
            var own = $"[問題]:{Questions[d][0]}\n[選択肢]:[{string.Join(", ", Questions[d][1..])}]\n[答え]:";
            // description + one shot (text + target) + "\n\n" + the document, the shot from train only.
            Assert.Contains(first[d], shotTexts.Select(s => JcqaDescription + s + "\n\n" + own));
        }

        var two = Samples(c, "t");
        foreach (var s in two)
        {
            var context = s.GetProperty("context").GetString()!;
            Assert.Equal(2, shotTexts.Count(context.Contains));
            // Scores are still the forward pass's on the longer context.
            var ll = s.GetProperty("loglikelihoods")[0].GetDouble();
            var expected = _model.LogLikelihood(context, s.GetProperty("choices")[0].GetString()!);
            Assert.True(Math.Abs(ll - expected) < 2e-3 * Math.Abs(expected), $"{ll} vs {expected}");
        }
    }

    [Fact]
    public async Task Jnli_and_jsquad_files_are_scored_in_their_own_formats()
    {
        var jnli = Path.Combine(_root, "jnli.jsonl");
        File.WriteAllLines(jnli,
        [
            """{"sentence_pair_id": "0", "sentence1": "男性が走っている。", "sentence2": "人が動いている。", "label": "entailment"}""",
            """{"sentence_pair_id": "1", "sentence1": "犬が寝ている。", "sentence2": "犬が走っている。", "label": "contradiction"}""",
            """{"sentence_pair_id": "2", "sentence1": "女性が本を読む。", "sentence2": "女性は学生だ。", "label": "neutral"}""",
        ]);
        var squad = Path.Combine(_root, "jsquad.json");
        File.WriteAllText(squad, """
            {"version": "v1.0", "data": [{"title": "東京", "paragraphs": [{"context": "東京 [SEP] 東京は日本の首都である。",
              "qas": [{"id": "q1", "question": "日本の首都は?", "answers": [{"text": "東京", "answer_start": 0}], "is_impossible": false},
                      {"id": "q2", "question": "東京はどこの首都?", "answers": [{"text": "日本", "answer_start": 3}]}]}]}]}
            """);

        var (results, folder) = await EvaluateAsync("formats", [Task("jnli", "jnli", jnli), Task("jsquad", "jsquad", squad, maxNewTokens: 6)]);
        var nli = Samples(folder, "jnli");
        Assert.Equal(["entailment", "contradiction", "neutral"], nli[0].GetProperty("choices").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([0, 1, 2], nli.Select(s => s.GetProperty("gold").GetInt32()));
        Assert.StartsWith("前提と仮説の関係をentailment、contradiction、neutralの中から回答してください。", nli[0].GetProperty("context").GetString());
        Assert.EndsWith("前提:男性が走っている。\n仮説:人が動いている。\n関係:", nli[0].GetProperty("context").GetString());
        Assert.InRange(Metrics(results, "jnli")["acc"], 0, 1);

        var qa = Samples(folder, "jsquad");
        Assert.Equal(2, qa.Count);
        double em = 0;
        foreach (var s in qa)
        {
            var context = s.GetProperty("context").GetString()!;
            Assert.StartsWith("[題名]と[問題]から[質問]に対する[答え]を抜き出しなさい\n\n[題名]:東京\n[問題]:東京は日本の首都である。\n[質問]:", context);
            // The answer is the model's greedy continuation up to "\n" (6 tokens at most), as greedy_until gives it.
            var greedy = TinyLanguageModel.Decode(_model.Greedy(context, 6));
            var cut = greedy.IndexOf('\n', StringComparison.Ordinal);
            Assert.Equal(cut >= 0 ? greedy[..cut] : greedy, s.GetProperty("prediction").GetString());
            em += s.GetProperty("exact_match").GetDouble();
        }

        Assert.Equal(em / 2, Metrics(results, "jsquad")["exact_match"], 1e-12);
        Assert.True(Metrics(results, "jsquad").ContainsKey("char_f1"));
    }

    [Fact]
    public async Task Generation_samples_are_seeded_and_report_a_repetition_rate()
    {
        var generation = new Dictionary<string, object?>
        {
            ["name"] = "gen",
            ["prompts"] = new[] { "日本の", "abc" },
            ["max_new_tokens"] = 24,
            ["greedy"] = true,
            ["samples"] = 2,
            ["temperature"] = 0.8,
            ["top_p"] = 0.9,
            ["repetition_penalty"] = 1.3,
            ["seed"] = 5,
            ["ngram"] = 2,
        };
        var (first, _) = await EvaluateAsync("gen-a", [], generation);
        var (again, _) = await EvaluateAsync("gen-b", [], generation);
        var a = first.GetProperty("generations").EnumerateArray().ToList();
        var b = again.GetProperty("generations").EnumerateArray().ToList();
        Assert.Equal(6, a.Count);
        Assert.All(a, g => Assert.Equal("gen", g.GetProperty("name").GetString()));
        Assert.Equal(a.Select(g => g.GetProperty("text").GetString()), b.Select(g => g.GetProperty("text").GetString()));

        foreach (var g in a.Where(g => g.GetProperty("mode").GetString() == "greedy"))
        {
            var tokens = _model.Greedy(g.GetProperty("prompt").GetString()!, 24, penalty: 1.3);
            Assert.Equal(tokens.Length, g.GetProperty("tokens").GetInt32());
            Assert.Equal(RepeatedShare(tokens, 2), g.GetProperty("repetition_rate").GetDouble(), 1e-12);
        }

        // Without a penalty: plain greedy decoding, as the forward pass here gives it.
        generation["repetition_penalty"] = 1.0;
        generation["samples"] = 0;
        var (plain, _) = await EvaluateAsync("gen-c", [], generation);
        foreach (var g in plain.GetProperty("generations").EnumerateArray())
        {
            var tokens = _model.Greedy(g.GetProperty("prompt").GetString()!, 24);
            Assert.Equal(RepeatedShare(tokens, 2), g.GetProperty("repetition_rate").GetDouble(), 1e-12);
        }
    }

    [Fact]
    public async Task The_shipped_japanese_set_scores_with_few_shot_examples()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Jiniac.Platform.sln")))
        {
            dir = dir.Parent;
        }

        var set = Path.Combine(dir.FullName, "examples", "eval", "ja-man-mc");
        var (results, folder) = await EvaluateAsync("shipped", [Task("ja-man-mc", "jcommonsenseqa", Path.Combine(set, "test.jsonl"), Path.Combine(set, "fewshot.jsonl"), shots: 1)]);
        var samples = Samples(folder, "ja-man-mc");
        Assert.Equal(200, samples.Count);
        Assert.All(samples, s => Assert.Equal(5, s.GetProperty("choices").GetArrayLength()));
        var first = samples[0];
        var expected = _model.LogLikelihood(first.GetProperty("context").GetString()!, first.GetProperty("choices")[0].GetString()!);
        Assert.True(Math.Abs(first.GetProperty("loglikelihoods")[0].GetDouble() - expected) < 2e-3 * Math.Abs(expected));
        Assert.Equal(200, results.GetProperty("tasks")[0].GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task A_bad_task_line_fails_the_evaluation_naming_file_and_line()
    {
        var file = Path.Combine(_root, "bad.jsonl");
        File.WriteAllLines(file, ["""{"q_id": 0, "question": "q", "choice0": "a", "choice1": "b", "label": 1}""", """{"q_id": 1, "question": "q", "choice0": "a", "label": 0}"""]);
        var folder = Path.Combine(_root, "eval-bad");
        var job = TrainerProcess.WriteJob(folder, "EVAL.json", Job(folder, [Task("bad", "jcommonsenseqa", file)], null));
        var (exit, log) = await TrainerProcess.RunAsync("evaluate", job, folder);
        Assert.NotEqual(0, exit);
        Assert.Contains($"{file}:2: needs at least choice0 and choice1", log);
    }

    /// <summary>argmax over ll, ll / code points (Python len) and ll / UTF-8 bytes; first maximum wins as in numpy.</summary>
    private static (int Pred, int Norm, int Bytes) Predict(double[] lls, string[] choices)
    {
        int ArgMax(Func<int, double> f)
        {
            var best = 0;
            for (var i = 1; i < lls.Length; i++)
            {
                if (f(i) > f(best))
                {
                    best = i;
                }
            }

            return best;
        }

        return (ArgMax(i => lls[i]),
            ArgMax(i => lls[i] / choices[i].EnumerateRunes().Count()),
            ArgMax(i => lls[i] / Encoding.UTF8.GetByteCount(choices[i])));
    }

    private static double RepeatedShare(int[] tokens, int n)
    {
        if (tokens.Length < n)
        {
            return 0;
        }

        var seen = new HashSet<string>();
        var repeated = 0;
        for (var i = 0; i + n <= tokens.Length; i++)
        {
            repeated += seen.Add(string.Join(',', tokens[i..(i + n)])) ? 0 : 1;
        }

        return (double)repeated / (tokens.Length - n + 1);
    }

    private static void WriteJcqa(string path, string[][] questions) =>
        File.WriteAllLines(path, questions.Select((q, d) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["q_id"] = d, ["question"] = q[0], ["choice0"] = q[1], ["choice1"] = q[2], ["choice2"] = q[3], ["choice3"] = q[4], ["choice4"] = q[5], ["label"] = 0,
        })));

    private static Dictionary<string, object?> Task(string name, string format, string path, string? fewshot = null, int shots = 0, long seed = 1234, int maxNewTokens = 32) => new()
    {
        ["name"] = name, ["format"] = format, ["path"] = path, ["fewshot_path"] = fewshot, ["num_fewshot"] = shots, ["seed"] = seed, ["limit"] = 0, ["max_new_tokens"] = maxNewTokens,
    };

    private Dictionary<string, object?> Job(string folder, object[] tasks, object? generation) => new()
    {
        ["checkpoint"] = _model.Folder,
        ["context_length"] = 64,
        ["sets"] = Array.Empty<object>(),
        ["output"] = Path.Combine(folder, "results.json"),
        ["threads"] = 1,
        ["tokenizer"] = _model.TokenizerPath,
        ["tasks"] = tasks,
        ["generations"] = generation is null ? Array.Empty<object>() : new[] { generation },
    };

    private async Task<(JsonElement Results, string Folder)> EvaluateAsync(string name, object[] tasks, object? generation = null)
    {
        var folder = Path.Combine(_root, "eval-" + name);
        var job = TrainerProcess.WriteJob(folder, "EVAL.json", Job(folder, tasks, generation));
        var (exit, log) = await TrainerProcess.RunAsync("evaluate", job, folder);
        Assert.True(exit == 0, log);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "results.json")));
        return (doc.RootElement.Clone(), folder);
    }

    private static Dictionary<string, double> Metrics(JsonElement results, string task)
    {
        var entry = results.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("name").GetString() == task);
        return entry.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN);
    }

    private static List<JsonElement> Samples(string folder, string task) =>
        [.. File.ReadAllLines(Path.Combine(folder, $"samples_{task}.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
}
