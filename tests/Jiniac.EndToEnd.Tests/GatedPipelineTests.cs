using System.Diagnostics;
using System.Text.Json;

namespace Jiniac.EndToEnd.Tests;

/// <summary>
/// Evaluation suites and gates end to end: `jiniac run` with a benchmark suite (the shipped Japanese
/// multiple-choice set and generation samples) on every stage end and every 50th step, and a gate that
/// holds each stage until `jiniac approve` releases it from a second process.
/// </summary>
public sealed class GatedPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-e2e-gate-").FullName;

    [Fact]
    public async Task Gated_stages_wait_for_approval_and_the_suites_results_are_kept_with_each_evaluation()
    {
        TinyCorpus.Write(_dir);
        var set = Path.Combine(Jiniac.RepoRoot, "examples", "eval", "ja-man-mc");
        var pipeline = Path.Combine(_dir, "pipeline.yaml");
        File.WriteAllText(pipeline, TinyCorpus.Pipeline("gated", enBudget: 12_800, jaBudget: 6_400).Replace("""
            evaluation:
              max_tokens_per_domain: 4k
            """, $"""
            evaluation:
              max_tokens_per_domain: 4k
              suites:
                - name: mc
                  when: [stage_end]
                  every_n_steps: 50
                  tasks:
                    - name: man
                      format: jcommonsenseqa
                      path: {Path.Combine(set, "test.jsonl")}
                      fewshot_path: {Path.Combine(set, "fewshot.jsonl")}
                      num_fewshot: 1
                      limit: 5
                  generation:
                    prompts: ["The ship"]
                    max_new_tokens: 8
                    samples: 1
              gates:
                - metric: perplexity/stories
                  max: 1.0
            """, StringComparison.Ordinal));
        var state = Path.Combine(_dir, "state");

        using var host = Jiniac.Start(_dir, "run", pipeline, "--state-dir", state, "--plain");
        var stdout = host.StandardOutput.ReadToEndAsync();
        var stderr = host.StandardError.ReadToEndAsync();
        try
        {
            foreach (var stage in new[] { "en", "ja" })
            {
                var gated = await WaitForStageAsync(host, state, stage, "Gated");
                Assert.Contains("is above the maximum 1", gated.GetProperty("reason").GetString());
                if (stage == "ja")
                {
                    // Both stages trained for real and the host waits at the gate: its dashboard draws their curves.
                    await DashboardOfARun.AssertDrawsTheRunAsync(_dir, state, "gated", ["en", "ja"]);
                }

                var approve = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "approve", "gated", stage, "--reason", "e2e approval", "--state-dir", state);
                Assert.True(approve.ExitCode == 0, approve.ToString());
                Assert.Contains($"gated/{stage}: approved", approve.Stdout);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
            await host.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
            }
        }

        Assert.True(host.ExitCode == 0, $"{await stdout}\n{await stderr}");
        var status = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "status", "gated", "--json", "--state-dir", state);
        using var json = JsonDocument.Parse(status.Stdout);
        Assert.Equal("Completed", json.RootElement.GetProperty("status").GetString());
        var stages = json.RootElement.GetProperty("stages").EnumerateArray().ToList();
        Assert.All(stages, s => Assert.Equal("Completed", s.GetProperty("status").GetString()));

        // en trains 100 steps: evaluated at step 50 (every_n_steps) and at its end, both with the suite.
        var en = stages[0].GetProperty("evaluations").EnumerateArray().ToList();
        Assert.Equal([50L, 100L], en.Select(e => e.GetProperty("step").GetInt64()));
        foreach (var evaluation in en)
        {
            var metrics = evaluation.GetProperty("metrics").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("value").GetDouble());
            Assert.InRange(metrics["mc/man/acc"], 0, 1);
            Assert.InRange(metrics["mc/man/acc_norm"], 0, 1);
            Assert.True(metrics["perplexity/stories"] > 1);
            Assert.InRange(metrics["mc/generation/repetition_rate"], 0, 1);
            var samples = evaluation.GetProperty("generations").EnumerateArray().ToList();
            Assert.Equal(["greedy", "sample"], samples.Select(g => g.GetProperty("mode").GetString()));
            Assert.All(samples, g => Assert.Equal("The ship", g.GetProperty("prompt").GetString()));
        }

        // The plain status shows the suite's metrics and samples beside the held-out table.
        var plain = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "status", "gated", "--state-dir", state);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains("benchmark suites", plain.Stdout);
        Assert.Contains("mc/man/acc_norm", plain.Stdout);
        Assert.Contains("generation samples", plain.Stdout);
        Assert.DoesNotContain("_stderr", plain.Stdout);

        var events = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "events", "gated", "--json", "--state-dir", state);
        var types = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Equal(2, types.Count(t => t == "StageGated"));
        Assert.Equal(2, types.Count(t => t == "GateApproved"));
        Assert.True(types.Count(t => t == "AlertRaised") >= 2);
        // The hub's initial commit of the repository, then one commit per published stage.
        Assert.Equal(3, File.ReadAllLines(Path.Combine(state, "hub", "e2e", "tiny", "revisions.jsonl")).Length);
    }

    private async Task<JsonElement> WaitForStageAsync(Process host, string state, string stage, string status)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(host.HasExited, $"jiniac run exited ({(host.HasExited ? host.ExitCode : 0)}) before {stage} was {status}");
            var result = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(1), "status", "gated", "--json", "--state-dir", state);
            if (result.ExitCode == 0)
            {
                using var json = JsonDocument.Parse(result.Stdout);
                foreach (var s in json.RootElement.GetProperty("stages").EnumerateArray())
                {
                    if (s.GetProperty("name").GetString() == stage && s.GetProperty("status").GetString() == status)
                    {
                        return s.Clone();
                    }
                }
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(4), $"{stage} not {status} within 4 minutes: {result}");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A process that was killed may still be closing its files; the temp folder is cleaned up later.
        }
    }
}
