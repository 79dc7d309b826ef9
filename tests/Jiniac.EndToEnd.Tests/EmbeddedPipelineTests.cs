using System.Diagnostics;
using System.Text.Json;

namespace Jiniac.EndToEnd.Tests;

/// <summary>
/// The embedded topology end to end, as a user drives it: `jiniac run` on a two-stage curriculum, killed
/// with SIGKILL mid-training and run again, then `status --json`, `events --json` and the files on disk.
/// </summary>
public sealed class EmbeddedPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-e2e-").FullName;

    [Fact]
    public async Task A_curriculum_runs_to_the_end_survives_a_kill_and_leaves_checkpoints_evaluations_and_revisions()
    {
        TinyCorpus.Write(_dir);
        var pipeline = Path.Combine(_dir, "pipeline.yaml");
        File.WriteAllText(pipeline, TinyCorpus.Pipeline("tiny", enBudget: 96_000, jaBudget: 12_800));
        var state = Path.Combine(_dir, "state");

        // 1. Start, and kill the host and its trainer with SIGKILL once the first stage has a complete checkpoint.
        var firstCheckpoint = Path.Combine(state, "runs", "tiny", "train", "en", "checkpoints", "step_0000025", "COMPLETE");
        using (var host = Jiniac.Start(_dir, "run", pipeline, "--state-dir", state, "--plain"))
        {
            _ = host.StandardOutput.ReadToEndAsync();
            _ = host.StandardError.ReadToEndAsync();
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(firstCheckpoint))
            {
                if (host.HasExited)
                {
                    Assert.Fail($"jiniac run exited ({host.ExitCode}) before the first checkpoint");
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(4), "no checkpoint within 4 minutes");
                await PollIntervalAsync();
            }

            host.Kill(entireProcessTree: true); // SIGKILL to the host and its trainer: a machine crash, no graceful stop
            await host.WaitForExitAsync();
        }

        // 2. Run again: the same run continues and completes.
        var rerun = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(8), "run", pipeline, "--state-dir", state, "--plain");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Contains("continuing run 'tiny'", rerun.Stdout);

        // 3. status --json: every stage completed, with data, checkpoints, evaluations and a published revision.
        var status = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "status", "tiny", "--json", "--state-dir", state);
        Assert.True(status.ExitCode == 0, status.ToString());
        using var json = JsonDocument.Parse(status.Stdout);
        var run = json.RootElement;
        Assert.Equal("Completed", run.GetProperty("status").GetString());
        var stages = run.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(["en", "ja"], stages.Select(s => s.GetProperty("name").GetString()));
        foreach (var stage in stages)
        {
            Assert.Equal("Completed", stage.GetProperty("status").GetString());
            Assert.NotEmpty(stage.GetProperty("data").EnumerateArray());
            var checkpoints = stage.GetProperty("checkpoints").EnumerateArray().ToList();
            Assert.NotEmpty(checkpoints);
            foreach (var checkpoint in checkpoints)
            {
                Assert.True(File.Exists(Path.Combine(checkpoint.GetProperty("folder").GetString()!, "model.safetensors")));
            }

            var final = checkpoints[^1];
            Assert.Equal(stage.GetProperty("totalSteps").GetInt64(), final.GetProperty("step").GetInt64());
            var evaluation = Assert.Single(stage.GetProperty("evaluations").EnumerateArray());
            Assert.Equal(final.GetProperty("step").GetInt64(), evaluation.GetProperty("step").GetInt64());
            var domains = evaluation.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("domain").GetString()!, r => r);
            Assert.Equal(["pages", "stories"], domains.Keys.Order());
            foreach (var result in domains.Values)
            {
                var perplexity = result.GetProperty("perplexity").GetDouble();
                Assert.True(perplexity > 1 && double.IsFinite(perplexity), $"perplexity {perplexity}");
                Assert.True(result.GetProperty("bitsPerByte").GetDouble() > 0);
                Assert.True(result.GetProperty("tokens").GetInt64() > 0);
            }

            var published = Assert.Single(stage.GetProperty("published").EnumerateArray());
            var folder = published.GetProperty("folder").GetString()!;
            foreach (var file in new[] { "model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "README.md" })
            {
                Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} missing in {folder}");
            }

            // The published safetensors and config pass the independent check of the Llama layout.
            var (layoutOk, _, layoutOutput) = await global::Jiniac.Publisher.Tests.LayoutCheck.RunAsync(folder);
            Assert.True(layoutOk, layoutOutput);

            // The card states each stage's data statistics, as the orchestrator counted them.
            var card = File.ReadAllText(Path.Combine(folder, "README.md"));
            Assert.Contains("## Training data", card);
            Assert.Contains("| en | " + stages[0].GetProperty("ingest").GetProperty("recordsIn").GetInt64().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " | ", card);
        }

        // The planted defects: the broken line is quarantined and the duplicate dropped, the run went on.
        var ingest = stages[0].GetProperty("ingest");
        Assert.Equal(1, ingest.GetProperty("quarantined").GetInt64());
        Assert.Equal(1, ingest.GetProperty("duplicates").GetInt64());
        // ... and the source's own report, beside the stage counts, accounts for every record.
        var report = run.GetProperty("ingestReports").GetProperty("en").GetProperty("stories");
        Assert.Equal((242L, 1L, 1L), (report.GetProperty("recordsIn").GetInt64(), report.GetProperty("duplicates").GetInt64(), report.GetProperty("quarantinedRecords").GetInt64()));
        Assert.Equal(242L, report.GetProperty("recordsOut").GetInt64() + report.GetProperty("dropped").EnumerateObject().Sum(p => p.Value.GetInt64())
            + report.GetProperty("duplicates").GetInt64() + report.GetProperty("nearDuplicates").GetInt64() + report.GetProperty("quarantinedRecords").GetInt64());

        // The curriculum: stage 2 trained from stage 1's weights, and learned its own domain.
        // Stage 1 was trained on English: its own domain scores far better than the unseen Japanese one.
        Assert.True(Result(stages[0], "stories") < Result(stages[0], "pages"));
        var jaAfterEn = Result(stages[0], "pages");
        var jaAfterJa = Result(stages[1], "pages");
        Assert.True(jaAfterJa < jaAfterEn, $"ja perplexity did not fall: {jaAfterEn} after en, {jaAfterJa} after ja");

        // Each stage is one commit on main of the local hub (after the hub's initial commit), published through the
        // Hub protocol, and the head of a branch named after the stage.
        var repoDir = Path.Combine(state, "hub", "e2e", "tiny");
        var revisions = File.ReadAllLines(Path.Combine(repoDir, "revisions.jsonl"));
        Assert.Equal(3, revisions.Length);
        foreach (var stage in stages)
        {
            var revision = Assert.Single(stage.GetProperty("published").EnumerateArray()).GetProperty("revision").GetString();
            Assert.Equal(revision, File.ReadAllText(Path.Combine(repoDir, "refs", "heads", stage.GetProperty("name").GetString()!)));
        }

        // 4. The journal tells the story, including the resume after the kill.
        var events = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "events", "tiny", "--json", "--state-dir", state);
        Assert.True(events.ExitCode == 0, events.ToString());
        var entries = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.GetProperty("sequence").GetInt64()));
        var types = entries.Select(e => e.GetProperty("type").GetString()).ToHashSet();
        foreach (var type in new[] { "RunSubmitted", "TokenizerReady", "ShardIngested", "SourceIngested", "RecordsQuarantined", "ShardsTokenized", "TrainingStarted", "CheckpointSaved", "TrainingCompleted", "EvaluationCompleted", "ModelPublished", "StageStatusChanged", "RunStatusChanged" })
        {
            Assert.Contains(type, types);
        }

        Assert.Contains(entries, e => e.GetProperty("type").GetString() == "TrainingStarted"
            && e.GetProperty("stage").GetString() == "en"
            && e.GetProperty("data").GetProperty("resumedFromStep").ValueKind == JsonValueKind.Number);

        // 5. Running a finished pipeline again changes nothing.
        var again = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "run", pipeline, "--state-dir", state, "--plain");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(3, File.ReadAllLines(Path.Combine(state, "hub", "e2e", "tiny", "revisions.jsonl")).Length);
    }

    [Fact]
    public async Task A_bad_pipeline_file_is_refused_before_anything_starts_naming_file_line_and_field()
    {
        var pipeline = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(pipeline, TinyCorpus.Pipeline("bad", 1000, 1000));
        var state = Path.Combine(_dir, "state");

        var result = await Jiniac.RunAsync(_dir, TimeSpan.FromMinutes(2), "run", pipeline, "--state-dir", state);

        Assert.Equal(2, result.ExitCode);
        Assert.Matches(@"bad\.yaml:\d+:\d+: stages\[0\]\.sources\[0\]\.path", result.Stderr);
        Assert.False(Directory.Exists(state), "nothing may start for a refused pipeline");
    }

    private static double Result(JsonElement stage, string domain) =>
        stage.GetProperty("evaluations")[0].GetProperty("results").EnumerateArray()
            .First(r => r.GetProperty("domain").GetString() == domain).GetProperty("perplexity").GetDouble();

    /// <summary>The pause between two looks at the disk while polling with a deadline.</summary>
    private static Task PollIntervalAsync() => Task.Delay(TimeSpan.FromMilliseconds(50));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
