using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>The complete example in docs/pipeline-reference.md must load, with the values its comments claim.</summary>
public sealed class PipelineReferenceTests
{
    [Fact]
    public void The_reference_example_loads()
    {
        using var folder = new TempFolder();
        folder.Write("data/en/moby-dick.jsonl", "{\"text\": \"Call me Ishmael.\"}\n");
        folder.Write("data/ja/web/help/index.html", "<p>ヘルプ</p>");
        folder.WriteGzip("data/ja/faq.jsonl.gz", "{\"text\": \"よくある質問\"}\n");
        folder.Write("data/ja/docs/intro.md", "# はじめに");

        var spec = PipelineLoader.Parse(ExampleYaml(), "pipeline.yaml", folder.Root);

        Assert.Equal("tiny-en-ja", spec.Name);
        var train = spec.Tokenizer.Train!;
        Assert.Equal((4096, 8L << 20, 2), (train.VocabSize, train.SampleBytes, train.MinFrequency));
        Assert.Equal(["<|endoftext|>", "<|pad|>"], train.SpecialTokens);
        Assert.Equal(
            new ModelSpec
            {
                HiddenSize = 256, IntermediateSize = 688, NumLayers = 4, NumHeads = 8, NumKvHeads = 2, MaxPositionEmbeddings = 512,
                TieWordEmbeddings = true,
            },
            spec.Model);
        Assert.Equal((256, 8, 3e-3, 3e-4, 50, 100), (spec.Training.SeqLength, spec.Training.MicroBatchSize, spec.Training.LearningRate,
            spec.Training.MinLearningRate, spec.Training.WarmupSteps, spec.Training.CheckpointInterval));
        Assert.Equal(new EvaluationSpec { EveryNCheckpoints = 2, MaxTokensPerDomain = 64_000 }, spec.Evaluation);
        Assert.Equal("jiniac/tiny-en-ja", spec.Publish!.Repo);
        Assert.Equal(("bfloat16", 2_000_000_000L, null, true), (spec.Publish.DType, spec.Publish.MaxShardSize, spec.Publish.Endpoint, spec.Publish.StageBranches));

        Assert.Equal(["en-prose", "ja-web", "ja-docs"], spec.Stages.Select(s => s.Name));
        Assert.Equal([20_000_000L, 10_000_000L, 5_000_000L], spec.Stages.Select(s => s.TokenBudget));
        Assert.Equal([null, 2e-3, null], spec.Stages.Select(s => s.LearningRate));
        var web = spec.Stages[1].Sources;
        Assert.Equal(("help-pages", SourceFormat.Tree, "ja-web", 50), (web[0].Name, web[0].Format, web[0].DomainName, web[0].MinChars));
        Assert.Equal([folder.PathOf("data/ja/web/**/*.html")], web[0].Paths);
        Assert.Equal(("faq", 0.5, "faq"), (web[1].Name, web[1].Weight, web[1].DomainName));
        var docs = Assert.Single(spec.Stages[2].Sources);
        Assert.Equal([folder.PathOf("data/ja/docs")], docs.Paths);
        Assert.Equal(2L << 20, docs.ShardBytes);
    }

    private static string ExampleYaml() => ReferenceDoc.YamlAfter("## A complete example");
}
