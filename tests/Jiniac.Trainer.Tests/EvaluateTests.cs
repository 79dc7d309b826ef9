using System.Text.Json;
using Jiniac.Formats.Megatron;

namespace Jiniac.Trainer.Tests;

[Collection(TrainedModelCollection.Name)]
public sealed class EvaluateTests(TrainedModelFixture fixture)
{
    [Fact]
    public async Task Trained_checkpoint_scores_better_than_its_initialisation()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        // The "untrained" model: the same initialisation, one step at a negligible rate.
        var init = Path.Combine(fixture.Root, "init");
        var initJob = TrainerProcess.WriteJob(init, "JOB.json", Jobs.Train(init, fixture.TrainPrefixes, steps: 1, checkpointInterval: 1, lr: 1e-12));
        var (initExit, initLog) = await TrainerProcess.RunAsync("train", initJob, init);
        Assert.True(initExit == 0, initLog);

        var trained = await EvaluateAsync(fixture.Checkpoint(60), "trained", maxTokens: 0);
        var untrained = await EvaluateAsync(Path.Combine(init, "checkpoints", "step_0000001"), "untrained", maxTokens: 0);

        Assert.Equal(2, trained.Count);
        foreach (var domain in new[] { "counting", "phrases" })
        {
            var t = trained[domain];
            var u = untrained[domain];
            Assert.Equal(ExpectedScoredTokens(domain), t.Tokens);
            Assert.Equal(t.Tokens, u.Tokens);
            Assert.Equal(1000, t.TextBytes);
            Assert.Equal(Math.Exp(t.Loss), t.Perplexity, 1e-9 * t.Perplexity);
            Assert.Equal(t.Loss * t.Tokens / Math.Log(2) / t.TextBytes, t.BitsPerByte, 1e-9);
            Assert.InRange(u.Loss, 3.6, 4.6);
            Assert.True(t.Loss < u.Loss - 1.0, $"{domain}: trained {t.Loss} vs untrained {u.Loss}");
        }
    }

    [Fact]
    public async Task Max_tokens_truncates_and_scales_text_bytes()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        var results = await EvaluateAsync(fixture.Checkpoint(60), "truncated", maxTokens: 100);
        var counting = results["counting"];
        // 100 tokens in windows of 32: three full windows (31 scored each) and a window of 4 (3 scored).
        Assert.Equal((3 * 31) + 3, counting.Tokens);
        var total = Tokens(fixture.HeldOutPrefixes[0]);
        Assert.Equal((long)Math.Round(1000 * (100.0 / total)), counting.TextBytes);
    }

    private sealed record Result(long Tokens, long TextBytes, double Loss, double Perplexity, double BitsPerByte);

    private async Task<Dictionary<string, Result>> EvaluateAsync(string checkpoint, string name, long maxTokens)
    {
        var folder = Path.Combine(fixture.Root, "eval-" + name);
        var output = Path.Combine(folder, "results.json");
        var job = TrainerProcess.WriteJob(folder, "EVAL.json", new Dictionary<string, object?>
        {
            ["checkpoint"] = checkpoint,
            ["context_length"] = Jobs.SeqLength,
            ["max_tokens_per_domain"] = maxTokens,
            ["sets"] = new object[]
            {
                new Dictionary<string, object?> { ["domain"] = "counting", ["prefixes"] = new[] { fixture.HeldOutPrefixes[0] }, ["text_bytes"] = 1000 },
                new Dictionary<string, object?> { ["domain"] = "phrases", ["prefixes"] = new[] { fixture.HeldOutPrefixes[1] }, ["text_bytes"] = 1000 },
            },
            ["output"] = output,
            ["threads"] = 1,
        });
        var (exit, log) = await TrainerProcess.RunAsync("evaluate", job, folder);
        Assert.True(exit == 0, log);

        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var results = new Dictionary<string, Result>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            results.Add(r.GetProperty("domain").GetString()!, new Result(
                r.GetProperty("tokens").GetInt64(),
                r.GetProperty("text_bytes").GetInt64(),
                r.GetProperty("loss").GetDouble(),
                r.GetProperty("perplexity").GetDouble(),
                r.GetProperty("bits_per_byte").GetDouble()));
        }

        return results;
    }

    private long ExpectedScoredTokens(string domain)
    {
        var total = Tokens(fixture.HeldOutPrefixes[domain == "counting" ? 0 : 1]);
        var full = total / Jobs.SeqLength;
        var rest = total % Jobs.SeqLength;
        return (full * (Jobs.SeqLength - 1)) + Math.Max(0, rest - 1);
    }

    private static long Tokens(string prefix)
    {
        using var d = IndexedDataset.Open(prefix);
        return d.TotalTokens;
    }
}
