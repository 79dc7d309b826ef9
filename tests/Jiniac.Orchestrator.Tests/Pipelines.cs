using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A two-stage curriculum built in code: "en" (stories 0.7 + wiki 0.3, wiki reporting as domain
/// "encyclopedia") then "ja" (pages, its own learning rate), with a tokenizer trained on en's data.
/// Source paths need not exist: the tests play the ingest worker.
/// </summary>
public static class Pipelines
{
    public static PipelineSpec TwoStages(string name, long enBudget = 40_000) => new()
    {
        Name = name,
        Tokenizer = new TokenizerSpec { Train = new TokenizerTrainingSpec { VocabSize = 512 } },
        Model = new ModelSpec { HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositionEmbeddings = 128 },
        Training = new TrainingSpec { SeqLength = 64, MicroBatchSize = 2, LearningRate = 1e-3 },
        Evaluation = new EvaluationSpec(),
        Publish = new PublishSpec { Repo = "test/tiny" },
        Stages =
        [
            new StageSpec
            {
                Name = "en",
                TokenBudget = enBudget,
                Sources =
                [
                    new SourceSpec { Name = "stories", Paths = ["/nonexistent/en/stories.jsonl"], Weight = 0.7 },
                    new SourceSpec { Name = "wiki", Paths = ["/nonexistent/en/wiki"], Weight = 0.3, Domain = "encyclopedia" },
                ],
            },
            new StageSpec
            {
                Name = "ja",
                TokenBudget = 12_000,
                LearningRate = 5e-4,
                Sources = [new SourceSpec { Name = "pages", Paths = ["/nonexistent/ja"] }],
            },
        ],
    };
}

/// <summary>The shards the test's "ingest worker" reports for a run, with keys unique to the run.</summary>
public sealed class RunShards(string runId)
{
    public string RunId { get; } = runId;

    // en/stories: two training shards (3000 and 1000 tokens) and one held-out; en/wiki: one of each; ja/pages: one of each.
    public IngestedShard StoriesTrain1 { get; } = Make(runId, "en", "stories", SplitNames.Train, 0, 12_000);
    public IngestedShard StoriesTrain2 { get; } = Make(runId, "en", "stories", SplitNames.Train, 1, 4_000);
    public IngestedShard StoriesEval { get; } = Make(runId, "en", "stories", SplitNames.Eval, 0, 700);
    public IngestedShard WikiTrain { get; } = Make(runId, "en", "wiki", SplitNames.Train, 0, 5_000);
    public IngestedShard WikiEval { get; } = Make(runId, "en", "wiki", SplitNames.Eval, 0, 300);
    public IngestedShard PagesTrain { get; } = Make(runId, "ja", "pages", SplitNames.Train, 0, 9_000);
    public IngestedShard PagesEval { get; } = Make(runId, "ja", "pages", SplitNames.Eval, 0, 900);

    public IReadOnlyList<IngestedShard> En => [StoriesTrain1, StoriesTrain2, StoriesEval, WikiTrain, WikiEval];

    public TokenizerReady Tokenizer => new()
    {
        RunId = RunId,
        TokenizerBlob = $"runs/{RunId}/tokenizer/tokenizer.json",
        TokenizerHash = Hash($"{RunId}/tokenizer"),
        VocabSize = 512,
        EodTokenId = 0,
    };

    public static string Prefix(IngestedShard shard, string tokenizerHash) => $"tokenized/{tokenizerHash[..8]}/{shard.ShardKey}";

    public long Tokens(IngestedShard shard) => shard == StoriesTrain1 ? 3_000 : shard == StoriesTrain2 ? 1_000 : shard == WikiTrain ? 1_000 : shard == PagesTrain ? 2_000 : 100;

    public SourceIngested SourceIngested(string stage, string source, params IngestedShard[] shards) => new()
    {
        RunId = RunId,
        Stage = stage,
        Source = source,
        Attempt = 1,
        Shards = shards,
        RecordsIn = 100,
        RecordsOut = 90,
        Duplicates = 6,
        NearDuplicates = 2,
        Quarantined = 4,
        BytesOut = 10_000,
        ReportBlob = $"runs/{RunId}/{stage}/ingest/{source}/report.json",
    };

    /// <summary>What a tokenizer reports for <paramref name="shard"/> alone (the orchestrator takes results of any grouping).</summary>
    public ShardsTokenized Tokenized(string stage, IngestedShard shard, string? tokenizerHash = null, long? tokens = null, string? prefix = null)
    {
        var hash = tokenizerHash ?? Tokenizer.TokenizerHash;
        return new ShardsTokenized
        {
            RunId = RunId,
            Stage = stage,
            TokenizerHash = hash,
            Shards = [new TokenizedShard { ShardKey = shard.ShardKey, Prefix = prefix ?? Prefix(shard, hash), Documents = 10, Tokens = tokens ?? Tokens(shard) }],
        };
    }

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static IngestedShard Make(string runId, string stage, string source, string split, int index, long textBytes) => new()
    {
        ShardKey = Hash($"{runId}/{stage}/{source}/{split}/{index}"),
        Blob = $"runs/{runId}/{stage}/ingest/{source}/{split}-{index:D5}.jsonl.gz",
        Split = split,
        Records = 10,
        TextBytes = textBytes,
    };
}

/// <summary>Drives runs through the states the tests start from, answering commands as the workers would.</summary>
public static class Drive
{
    public static Task<StageView> StageView(OrchestratorHost host, string runId, string stage, Func<StageView, bool> condition, string what) =>
        Eventually.Until(() => host.Stage(runId, stage).GetViewAsync(), condition, $"{runId}/{stage} {what}");

    public static Task<RunView?> RunView(OrchestratorHost host, string runId, Func<RunView, bool> condition, string what) =>
        Eventually.Until(() => host.Run(runId).GetViewAsync(), v => v is not null && condition(v), $"{runId} {what}");

    /// <summary>Submits the two-stage pipeline and answers every command until "en" trains and "ja" is preparing.</summary>
    public static async Task<RunShards> ToFirstStageTrainingAsync(OrchestratorHost host, string runId, PipelineSpec? spec = null)
    {
        var shards = new RunShards(runId);
        var submitted = await host.Run(runId).SubmitAsync(spec ?? Pipelines.TwoStages(runId));
        Assert.Null(submitted.Error);
        // A stage's sources are ingested one after another (stage-wide dedup): wiki is asked for once stories is done.
        await host.Commands.WaitForAsync<IngestSource>(c => c.RunId == runId && c.Stage == "en");
        await host.Publish(shards.SourceIngested("en", "stories", shards.StoriesTrain1, shards.StoriesTrain2, shards.StoriesEval));
        await host.Commands.WaitForAsync<IngestSource>(c => c.RunId == runId && c.Stage == "en", 2);
        await host.Publish(shards.SourceIngested("en", "wiki", shards.WikiTrain, shards.WikiEval));
        await host.Commands.WaitForAsync<TrainTokenizer>(c => c.RunId == runId);
        await host.Publish(shards.Tokenizer);
        await host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == runId && c.Stage == "en", shards.En.Count);
        foreach (var shard in shards.En)
        {
            await host.Publish(shards.Tokenized("en", shard));
        }

        await host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == runId && c.Stage == "en");
        await host.Commands.WaitForAsync<IngestSource>(c => c.RunId == runId && c.Stage == "ja");
        await RunView(host, runId, v => v.Stages[0].Status == "Training" && v.Stages[1].Status == "Preparing", "en Training, ja Preparing");
        return shards;
    }

    /// <summary>From <see cref="ToFirstStageTrainingAsync"/>: "ja"'s data ingested and tokenized, so "ja" is Ready and "en" can be evaluated on every held-out domain.</summary>
    public static async Task SecondStageReadyAsync(OrchestratorHost host, RunShards shards)
    {
        await host.Publish(shards.SourceIngested("ja", "pages", shards.PagesTrain, shards.PagesEval));
        await host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == shards.RunId && c.Stage == "ja", 2);
        await host.Publish(shards.Tokenized("ja", shards.PagesTrain));
        await host.Publish(shards.Tokenized("ja", shards.PagesEval));
        await StageView(host, shards.RunId, "ja", v => v.Status == "Ready", "Ready");
    }
}
