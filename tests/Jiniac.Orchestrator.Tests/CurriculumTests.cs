using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A whole two-stage curriculum through a real embedded host, the test playing every worker: which
/// commands are sent when, what they carry, what the grains record, and that it all survives a restart.
/// </summary>
public sealed class CurriculumTests : IDisposable
{
    private const string RunId = "cur";
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-orch-cur-").FullName;

    [Fact]
    public async Task A_two_stage_curriculum_issues_each_command_in_turn_records_everything_and_survives_a_restart()
    {
        var state = Path.Combine(_dir, "state");
        var s = new RunShards(RunId);
        var tok = s.Tokenizer;
        string before;
        long journalCount;

        var host = await OrchestratorHost.StartAsync(state);
        try
        {
            var c = host.Commands;
            var submitted = await host.Run(RunId).SubmitAsync(Pipelines.TwoStages(RunId));
            Assert.Equal(new SubmitResult(RunId, true, null), submitted);

            // Stage 1's first source is ingested first, and nothing else is asked for (sources go one by one, for stage-wide dedup).
            var first = Assert.Single(await c.WaitForAsync<IngestSource>(x => x.RunId == RunId));
            Assert.Equal(("stories", "en", 1, $"runs/{RunId}/en/ingest/stories"), (first.Source.Name, first.Stage, first.Attempt, first.OutputPrefix));
            Assert.Empty(first.PriorDedupIndexes);
            var view = (await host.Run(RunId).GetViewAsync())!;
            Assert.Equal(("Running", "Preparing", "Pending"), (view.Status, view.Stages[0].Status, view.Stages[1].Status));

            // A streamed shard, then the source's summary (which repeats it): counted once.
            await host.Publish(new ShardIngested { RunId = RunId, Stage = "en", Source = "stories", Attempt = 1, Shard = s.StoriesTrain1 });
            await Drive.StageView(host, RunId, "en", v => v.ShardsTotal == 1, "has the streamed shard");
            await host.Publish(s.SourceIngested("en", "stories", s.StoriesTrain1, s.StoriesTrain2, s.StoriesEval));
            await Drive.StageView(host, RunId, "en", v => v.SourcesDone == 1 && v.ShardsTotal == 3, "has stories ingested");
            Assert.Empty(c.Of<TrainTokenizer>(x => x.RunId == RunId)); // one source of two: too early for the tokenizer

            // The second source comes next, told the first one's dedup index.
            var second = (await c.WaitForAsync<IngestSource>(x => x.RunId == RunId, 2))[1];
            Assert.Equal(("wiki", $"runs/{RunId}/en/ingest/wiki"), (second.Source.Name, second.OutputPrefix));
            Assert.Equal([$"runs/{RunId}/en/ingest/stories/dedup.bin"], second.PriorDedupIndexes);

            // The tokenizer is trained once every source of stage 1 is ingested, on its training shards only.
            await host.Publish(s.SourceIngested("en", "wiki", s.WikiTrain, s.WikiEval));
            var train = Assert.Single(await c.WaitForAsync<TrainTokenizer>(x => x.RunId == RunId));
            var storiesTrain = new[] { s.StoriesTrain1, s.StoriesTrain2 }.OrderBy(x => x.ShardKey, StringComparer.Ordinal).Select(x => x.Blob);
            Assert.Equal([.. storiesTrain, s.WikiTrain.Blob], train.SampleBlobs);
            Assert.Equal(512, train.Settings.VocabSize);
            Assert.Empty(c.Of<TokenizeRequest>(x => x.RunId == RunId));
            var en = await Drive.StageView(host, RunId, "en", v => v.SourcesDone == 2, "has both sources ingested");
            Assert.Equal((5, 200L, 180L, 12L, 8L), (en.ShardsTotal, en.RecordsIn, en.RecordsOut, en.Duplicates, en.Quarantined));
            Assert.Equal(4L, en.NearDuplicates); // near duplicates are kept apart from exact ones

            // With the tokenizer, every shard of stage 1 (held-out ones too) is tokenized.
            await host.Publish(tok);
            var tokenize = await c.WaitForAsync<TokenizeRequest>(x => x.RunId == RunId, 5);
            Assert.Equal(s.En.Select(x => x.ShardKey).Order(), tokenize.Select(x => x.ShardKey).Order());
            // The stage's shards, all known when the tokenizer is ready, go out together: one command, well within the budgets.
            Assert.Single(tokenize.Select(x => x.Command).Distinct());
            Assert.All(tokenize, x => Assert.Equal(("en", tok.TokenizerBlob, tok.TokenizerHash, s.En.Single(e => e.ShardKey == x.ShardKey).Blob),
                (x.Stage, x.TokenizerBlob, x.TokenizerHash, x.ShardBlob)));
            Assert.Equal(tok.TokenizerHash, (await host.Run(RunId).GetViewAsync())!.Tokenizer?.Hash);

            foreach (var shard in new[] { s.StoriesTrain1, s.StoriesTrain2, s.StoriesEval, s.WikiTrain })
            {
                await host.Publish(s.Tokenized("en", shard));
            }

            en = await Drive.StageView(host, RunId, "en", v => v.ShardsTokenized == 4, "has 4 shards tokenized");

            // A duplicate, and one from another tokenizer, change nothing.
            await host.Stage(RunId, "en").OnShardsTokenizedAsync(s.Tokenized("en", s.StoriesTrain1, tokens: 99, prefix: "other"));
            await host.Stage(RunId, "en").OnShardsTokenizedAsync(s.Tokenized("en", s.WikiEval, tokenizerHash: RunShards.Hash("another tokenizer")));
            var again = await host.Stage(RunId, "en").GetViewAsync();
            Assert.Equal(Json(en), Json(again));
            Assert.Equal("Preparing", again.Status);
            Assert.Empty(c.Of<LaunchTraining>(x => x.RunId == RunId));
            Assert.Empty(c.Of<IngestSource>(x => x.RunId == RunId && x.Stage == "ja")); // no prefetch before stage 1 trains

            // The last shard makes stage 1 ready: it trains from scratch on its blend, shared among shards by tokens.
            await host.Publish(s.Tokenized("en", s.WikiEval));
            var launch = Assert.Single(await c.WaitForAsync<LaunchTraining>(x => x.RunId == RunId));
            Assert.Equal(("en", 0, 1, (string?)null), (launch.Stage, launch.StageIndex, launch.Attempt, launch.InitFrom));
            Assert.Equal((tok.TokenizerBlob, 512, 0, 40_000L, 1e-3), (launch.TokenizerBlob, launch.VocabSize, launch.EodTokenId, launch.TokenBudget, launch.Training.LearningRate));
            var blend = launch.Data.ToDictionary(d => d.Prefix, d => d.Weight);
            Assert.Equal(3, blend.Count);
            Assert.Equal(0.525, blend[RunShards.Prefix(s.StoriesTrain1, tok.TokenizerHash)], 9);
            Assert.Equal(0.175, blend[RunShards.Prefix(s.StoriesTrain2, tok.TokenizerHash)], 9);
            Assert.Equal(0.3, blend[RunShards.Prefix(s.WikiTrain, tok.TokenizerHash)], 9);

            // Stage 2's data is prepared while stage 1 trains.
            var jaIngest = Assert.Single(await c.WaitForAsync<IngestSource>(x => x.RunId == RunId && x.Stage == "ja"));
            Assert.Equal("pages", jaIngest.Source.Name);
            view = (await Drive.RunView(host, RunId, v => v.Stages[1].Status == "Preparing", "ja Preparing"))!;
            Assert.Equal("Training", view.Stages[0].Status);

            // Training reports; a duplicated checkpoint is recorded once.
            await host.Publish(new TrainingStarted { RunId = RunId, Stage = "en", Attempt = 1, JobId = "job-en", Backend = "local", TotalSteps = 10, Restart = 0 });
            await Drive.StageView(host, RunId, "en", v => v.JobId == "job-en" && v.TotalSteps == 10, "has its job");
            var saved5 = new CheckpointSaved { RunId = RunId, Stage = "en", Attempt = 1, Step = 5, Tokens = 20_480, Loss = 4.0, Folder = "/ckpt/en/step_0000005" };
            await host.Publish(saved5);
            await Drive.StageView(host, RunId, "en", v => v.Checkpoints.Count == 1, "has checkpoint 5");
            await host.Stage(RunId, "en").OnCheckpointSavedAsync(saved5);
            Assert.Equal([new CheckpointSummary(5, 20_480, 4.0, saved5.Folder)], (await host.Stage(RunId, "en").GetViewAsync()).Checkpoints);

            // Stage 1 completes while stage 2's held-out data is not ready: its evaluation waits for it.
            const string enFinal = "/ckpt/en/step_0000010";
            await host.Publish(new TrainingCompleted { RunId = RunId, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 40_960, FinalLoss = 2.5, CheckpointFolder = enFinal });
            en = await Drive.StageView(host, RunId, "en", v => v.Status == "Evaluating", "Evaluating");
            Assert.Equal(new CheckpointSummary(10, 40_960, 2.5, enFinal), en.Final);
            Assert.Equal([5L, 10L], en.Checkpoints.Select(x => x.Step));

            await host.Publish(s.SourceIngested("ja", "pages", s.PagesTrain, s.PagesEval));
            var jaTokenize = await c.WaitForAsync<TokenizeRequest>(x => x.RunId == RunId && x.Stage == "ja", 2);
            Assert.Equal(new[] { s.PagesTrain.ShardKey, s.PagesEval.ShardKey }.Order(), jaTokenize.Select(x => x.ShardKey).Order());
            Assert.Empty(c.Of<EvaluateCheckpoint>(x => x.RunId == RunId));
            await host.Publish(s.Tokenized("ja", s.PagesTrain));
            await host.Publish(s.Tokenized("ja", s.PagesEval));

            // Stage 2 ready: stage 1's final checkpoint is evaluated on the held-out domains of stages 1 and 2,
            // once: the Run's poke does not repeat a request the stage has already sent.
            var evaluates = await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == RunId);
            Assert.All(evaluates, e => Assert.Equal(("en", 10L), (e.Stage, e.Step)));
            var evaluate = evaluates[0];
            Assert.Equal(("en", 10L, enFinal, 64, 65_536L), (evaluate.Stage, evaluate.Step, evaluate.CheckpointFolder, evaluate.ContextLength, evaluate.MaxTokensPerDomain));
            Assert.All(evaluates, e => AssertSets(e, s, tok.TokenizerHash));
            // No gates: nothing can hold stage 1 now, so stage 2 trains from its final weights while it is evaluated and published.
            var jaLaunch = Assert.Single(await c.WaitForAsync<LaunchTraining>(x => x.RunId == RunId && x.Stage == "ja"));
            Assert.Equal((1, 1, enFinal, 5e-4, 12_000L), (jaLaunch.StageIndex, jaLaunch.Attempt, jaLaunch.InitFrom, jaLaunch.Training.LearningRate, jaLaunch.TokenBudget));
            // lr_schedule restart (the default): each stage's window is its own steps.
            Assert.Equal((0L, (12_000L + (launch.Training.MicroBatchSize * launch.Training.SeqLength) - 1) / (launch.Training.MicroBatchSize * launch.Training.SeqLength)),
                (jaLaunch.ScheduleOffsetSteps, jaLaunch.ScheduleTotalSteps));
            var jaData = Assert.Single(jaLaunch.Data);
            Assert.Equal((RunShards.Prefix(s.PagesTrain, tok.TokenizerHash), 1.0), (jaData.Prefix, jaData.Weight));
            Assert.Equal("Evaluating", (await host.Stage(RunId, "en").GetViewAsync()).Status);

            // Evaluated → published, with the curriculum so far.
            await host.Publish(new EvaluationCompleted { RunId = RunId, Stage = "en", Step = 10, Results = Results(2.5) });
            var publish = Assert.Single(await c.WaitForAsync<PublishModel>(x => x.RunId == RunId));
            Assert.Equal(("en", 10L, enFinal, tok.TokenizerBlob, "test/tiny", 3), (publish.Stage, publish.Step, publish.CheckpointFolder, publish.TokenizerBlob, publish.Target.Repo, publish.Evaluation.Count));
            var entry = Assert.Single(publish.Curriculum);
            Assert.Equal(("en", 40_960L, 10L, (double?)2.5), (entry.Stage, entry.Tokens, entry.Steps, entry.FinalLoss));
            Assert.Equal(["stories", "wiki"], entry.Sources);

            // Published → stage 1 completed; stage 2 goes on training (launched once).
            await host.Publish(new ModelPublished { RunId = RunId, Stage = "en", Step = 10, Repo = "test/tiny", Revision = "rev-en", Folder = "/hub/rev-en", Created = true });
            view = (await Drive.RunView(host, RunId, v => v.Stages[0].Status == "Completed" && v.CurrentStage == "ja" && v.Stages[1].Status == "Training", "en Completed, ja Training"))!;
            Assert.Equal(("ja", "Completed"), (view.CurrentStage, view.Stages[0].Status));

            // Stage 2 (the last): its evaluation covers stages ≤ 2, i.e. the same three domains.
            const string jaFinal = "/ckpt/ja/step_0000004";
            await host.Publish(new TrainingStarted { RunId = RunId, Stage = "ja", Attempt = 1, JobId = "job-ja", Backend = "local", TotalSteps = 4, Restart = 0 });
            await host.Publish(new CheckpointSaved { RunId = RunId, Stage = "ja", Attempt = 1, Step = 4, Tokens = 12_288, Loss = 3.0, Folder = jaFinal });
            await Drive.StageView(host, RunId, "ja", v => v.Checkpoints.Count == 1 && v.JobId == "job-ja", "has checkpoint 4");
            await host.Publish(new TrainingCompleted { RunId = RunId, Stage = "ja", Attempt = 1, FinalStep = 4, Tokens = 12_288, FinalLoss = 3.0, CheckpointFolder = jaFinal });
            var jaEvaluate = Assert.Single(await c.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == RunId && x.Stage == "ja"));
            Assert.Equal((4L, jaFinal), (jaEvaluate.Step, jaEvaluate.CheckpointFolder));
            AssertSets(jaEvaluate, s, tok.TokenizerHash);
            await host.Publish(new EvaluationCompleted { RunId = RunId, Stage = "ja", Step = 4, Results = Results(3.0) });
            var jaPublish = Assert.Single(await c.WaitForAsync<PublishModel>(x => x.RunId == RunId && x.Stage == "ja"));
            Assert.Equal(["en", "ja"], jaPublish.Curriculum.Select(x => x.Stage));
            Assert.Equal((12_288L, 4L, (double?)3.0), (jaPublish.Curriculum[1].Tokens, jaPublish.Curriculum[1].Steps, jaPublish.Curriculum[1].FinalLoss));
            await host.Publish(new ModelPublished { RunId = RunId, Stage = "ja", Step = 4, Repo = "test/tiny", Revision = "rev-ja", Folder = "/hub/rev-ja", Created = true });

            // What the grains hold at the end.
            view = (await Drive.RunView(host, RunId, v => v.Status == "Completed", "Completed"))!;
            Assert.Equal(["Completed", "Completed"], view.Stages.Select(x => x.Status));
            Assert.Equal(new PublishedSummary(10, "test/tiny", "rev-en", "/hub/rev-en", true), Assert.Single(view.Stages[0].Published));
            Assert.Equal(new PublishedSummary(4, "test/tiny", "rev-ja", "/hub/rev-ja", true), Assert.Single(view.Stages[1].Published));
            var enEval = Assert.Single(view.Stages[0].Evaluations);
            Assert.Equal((10L, 3), (enEval.Step, enEval.Results.Count));
            Assert.Equal(4L, Assert.Single(view.Stages[1].Evaluations).Step);
            Assert.Equal(enFinal, view.Stages[0].Final?.Folder);
            Assert.Equal(jaFinal, view.Stages[1].Final?.Folder);
            Assert.Equal((40_960L, 10L), (view.Stages[0].TokensTrained, view.Stages[0].Step));

            // Nothing was sent twice along the way.
            Assert.Equal(2, c.Of<LaunchTraining>(x => x.RunId == RunId).Count);
            Assert.Equal([("en", 10L), ("ja", 4L)], c.Of<EvaluateCheckpoint>(x => x.RunId == RunId).Select(x => (x.Stage, x.Step)));
            Assert.Equal(7, c.Of<TokenizeRequest>(x => x.RunId == RunId).Count);

            var checkpoint = await host.Grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(RunId, "en", 10)).GetAsync();
            Assert.Equal(("rev-en", 3), (checkpoint.Published?.Revision, checkpoint.Evaluation?.Count));

            journalCount = await host.Grains.GetGrain<IJournalGrain>(RunId).CountAsync();
            var journal = await host.Grains.GetGrain<IJournalGrain>(RunId).ReadAsync(0, int.MaxValue);
            Assert.Equal(Enumerable.Range(0, (int)journalCount).Select(i => (long)i), journal.Select(e => e.Sequence));
            before = Json(view);
        }
        finally
        {
            await host.DisposeAsync();
        }

        // A new host on the same state folder sees the same run, journal and registry.
        await using var restarted = await OrchestratorHost.StartAsync(state);
        var after = await restarted.Run(RunId).GetViewAsync();
        Assert.Equal(before, Json(after));
        Assert.Equal(journalCount, await restarted.Grains.GetGrain<IJournalGrain>(RunId).CountAsync());
        Assert.Contains(RunId, await restarted.Grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync());
        Assert.Equal(3, (await restarted.Grains.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(RunId, "en", 10)).GetAsync()).Evaluation?.Count);
    }

    private static void AssertSets(EvaluateCheckpoint evaluate, RunShards s, string hash)
    {
        var sets = evaluate.Sets.ToDictionary(x => x.Domain);
        Assert.Equal(["encyclopedia", "pages", "stories"], sets.Keys.Order());
        foreach (var (domain, shard) in new[] { ("stories", s.StoriesEval), ("encyclopedia", s.WikiEval), ("pages", s.PagesEval) })
        {
            Assert.Equal([RunShards.Prefix(shard, hash)], sets[domain].Prefixes);
            Assert.Equal(shard.TextBytes, sets[domain].TextBytes);
        }
    }

    private static List<DomainEvaluation> Results(double loss) =>
    [
        new() { Domain = "stories", Tokens = 100, TextBytes = 700, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1.1 },
        new() { Domain = "encyclopedia", Tokens = 100, TextBytes = 300, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1.2 },
        new() { Domain = "pages", Tokens = 100, TextBytes = 900, Loss = loss, Perplexity = Math.Exp(loss), BitsPerByte = 1.3 },
    ];

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, OrchestratorJson.Options);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
