using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

public sealed class PipelineLoaderTests
{
    [Fact]
    public void A_valid_file_loads_with_its_values_and_the_record_defaults()
    {
        using var files = new PipelineFiles();
        var spec = files.Load();

        Assert.Equal("demo", spec.Name);
        Assert.Equal("a small test pipeline", spec.Description);
        Assert.Equal(files.PipelinePath, spec.SourceFile);

        Assert.Null(spec.Tokenizer.Path);
        var train = Assert.IsType<TokenizerTrainingSpec>(spec.Tokenizer.Train);
        Assert.Equal(512, train.VocabSize);
        Assert.Equal(["<|endoftext|>", "<|pad|>"], train.SpecialTokens);
        Assert.Equal(4_000_000, train.SampleBytes);
        Assert.Equal(2, train.MinFrequency);

        Assert.Equal(
            new ModelSpec { HiddenSize = 64, IntermediateSize = 176, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositionEmbeddings = 128 },
            spec.Model);
        Assert.Equal(1e-5, spec.Model.RmsNormEps);
        Assert.Equal(10000, spec.Model.RopeTheta);
        Assert.False(spec.Model.TieWordEmbeddings);

        Assert.Equal(
            new TrainingSpec
            {
                SeqLength = 64, MicroBatchSize = 4, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 10, CheckpointInterval = 50,
                WeightDecay = 0.1, Beta1 = 0.9, Beta2 = 0.95, GradClip = 1.0, Seed = 1234, LogInterval = 1, MaxRestarts = 3, Threads = 0,
            },
            spec.Training);

        Assert.Equal(new EvaluationSpec { EveryNCheckpoints = 2, MaxTokensPerDomain = 65_536 }, spec.Evaluation);

        var publish = Assert.IsType<PublishSpec>(spec.Publish);
        Assert.Equal("jiniac/demo", publish.Repo);
        Assert.Null(publish.HubDir);
        Assert.Equal("apache-2.0", publish.License);
        Assert.Equal(["en", "ja"], publish.Languages);

        Assert.Collection(spec.Stages,
            stage =>
            {
                Assert.Equal(("en-prose", 2_000_000L, (double?)null), (stage.Name, stage.TokenBudget, stage.LearningRate));
                var source = Assert.Single(stage.Sources);
                Assert.Equal("prose", source.Name);
                Assert.Equal([files.Folder.PathOf("data/en.jsonl")], source.Paths);
                Assert.Equal(SourceFormat.Auto, source.Format);
                Assert.Equal("text", source.TextField);
                Assert.Equal(1.0, source.Weight);
                Assert.Null(source.Domain);
                Assert.Equal("prose", source.DomainName);
                Assert.Equal(0.05, source.EvalFraction);
                Assert.Equal(4 * 1024 * 1024, source.ShardBytes);
                Assert.Equal(20, source.MinChars);
            },
            stage =>
            {
                Assert.Equal(("ja-web", 1_500_000L), (stage.Name, stage.TokenBudget));
                Assert.Collection(stage.Sources,
                    web =>
                    {
                        Assert.Equal("web", web.Name);
                        Assert.Equal([files.Folder.PathOf("data/ja/web/*.html")], web.Paths);
                        Assert.Equal(SourceFormat.Tree, web.Format);
                    },
                    wiki =>
                    {
                        Assert.Equal("wiki", wiki.Name);
                        Assert.Equal([files.Folder.PathOf("data/ja/wiki.jsonl.gz")], wiki.Paths);
                        Assert.Equal(0.1, wiki.EvalFraction);
                    });
            });
    }

    [Fact]
    public void Every_optional_key_is_read()
    {
        using var folder = new TempFolder();
        folder.Write("corpus/a.jsonl", "{}");
        folder.Write("corpus/b.jsonl.gz", "");
        folder.Write("tok/tokenizer.json", "{}");
        var yaml = """
            name: full.pipeline_1
            tokenizer:
              path: tok/tokenizer.json
            model:
              hidden_size: 128
              intermediate_size: 352
              num_layers: 4
              num_heads: 4
              num_kv_heads: 1
              max_position_embeddings: 256
              rms_norm_eps: 1e-6
              rope_theta: 500_000
              tie_word_embeddings: true
            training:
              seq_length: 256
              micro_batch_size: 8
              learning_rate: 0.001
              min_learning_rate: 0
              warmup_steps: 0
              weight_decay: 0
              beta1: 0.8
              beta2: 0.99
              grad_clip: 0.5
              seed: -7
              checkpoint_interval: 1
              log_interval: 5
              max_restarts: 0
              threads: 2
            evaluation:
              every_n_checkpoints: 0
              max_tokens_per_domain: 1M
            publish:
              repo: someone/model-x.v2
              hub_dir: ../hub
              license: mit
              languages: ja
            stages:
              - name: s1
                token_budget: 10k
                learning_rate: 5e-4
                sources:
                  - name: one
                    paths: corpus/a.jsonl
                    format: jsonl
                    text_field: body
                    weight: 2.5
                    domain: web-ja
                    eval_fraction: 0
                    shard_bytes: 1MiB
                    min_chars: 0
                  - name: two
                    paths: [corpus/b.jsonl.gz, corpus]
                    format: JSONL.GZ
            """;

        var spec = PipelineLoader.Parse(yaml, "full.yaml", folder.Root);

        Assert.Equal(folder.PathOf("full.yaml"), spec.SourceFile);
        Assert.Equal(folder.PathOf("tok/tokenizer.json"), spec.Tokenizer.Path);
        Assert.Null(spec.Tokenizer.Train);
        Assert.Equal((1e-6, 500_000d, true), (spec.Model.RmsNormEps, spec.Model.RopeTheta, spec.Model.TieWordEmbeddings));
        Assert.Equal(
            new TrainingSpec
            {
                SeqLength = 256, MicroBatchSize = 8, LearningRate = 0.001, MinLearningRate = 0, WarmupSteps = 0, WeightDecay = 0,
                Beta1 = 0.8, Beta2 = 0.99, GradClip = 0.5, Seed = -7, CheckpointInterval = 1, LogInterval = 5, MaxRestarts = 0, Threads = 2,
            },
            spec.Training);
        Assert.Equal(new EvaluationSpec { EveryNCheckpoints = 0, MaxTokensPerDomain = 1_000_000 }, spec.Evaluation);
        var publish = spec.Publish!;
        Assert.Equal(("someone/model-x.v2", Path.GetFullPath(Path.Combine(folder.Root, "..", "hub")), "mit"), (publish.Repo, publish.HubDir, publish.License));
        Assert.Equal(["ja"], publish.Languages);
        var stage = Assert.Single(spec.Stages);
        Assert.Equal((10_000L, (double?)5e-4), (stage.TokenBudget, stage.LearningRate));
        var one = stage.Sources[0];
        Assert.Equal(
            (SourceFormat.Jsonl, "body", 2.5, "web-ja", 0d, 1L << 20, 0),
            (one.Format, one.TextField, one.Weight, one.DomainName, one.EvalFraction, one.ShardBytes, one.MinChars));
        var two = stage.Sources[1];
        Assert.Equal(SourceFormat.JsonlGz, two.Format);
        Assert.Equal([folder.PathOf("corpus/b.jsonl.gz"), folder.PathOf("corpus")], two.Paths);
        Assert.Null(spec.Description);
    }

    [Fact]
    public void Relative_paths_resolve_against_the_pipeline_files_folder_not_the_working_directory()
    {
        using var folder = new TempFolder();
        var shared = folder.Write("shared/books.jsonl", "{}");
        var elsewhere = folder.Write("elsewhere/abs.jsonl", "{}");
        folder.Write("pipelines/nested/tokenizer.json", "{}");
        var pipeline = folder.Write("pipelines/nested/p.yaml", Minimal($"[../../shared/books.jsonl, '{elsewhere}']", tokenizer: "path: tokenizer.json"));

        var spec = PipelineLoader.Load(pipeline);

        Assert.Equal([shared, elsewhere], spec.Stages[0].Sources[0].Paths);
        Assert.Equal(folder.PathOf("pipelines/nested/tokenizer.json"), spec.Tokenizer.Path);
        Assert.Equal(pipeline, spec.SourceFile);
        Assert.All(spec.Stages[0].Sources[0].Paths, p => Assert.True(Path.IsPathFullyQualified(p)));
    }

    [Fact]
    public void Parse_resolves_against_the_given_base_directory()
    {
        using var folder = new TempFolder();
        var data = folder.Write("data/x.jsonl", "{}");

        var spec = PipelineLoader.Parse(Minimal("data/x.jsonl"), "inline.yaml", folder.Root);

        Assert.Equal([data], spec.Stages[0].Sources[0].Paths);
        Assert.Equal(folder.PathOf("inline.yaml"), spec.SourceFile);
    }

    [Fact]
    public void Errors_carry_the_file_name_as_given()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse(Minimal("data/none.jsonl"), "pipelines/p.yaml", folder.Root));

        var error = Assert.Single(e.Errors);
        Assert.Equal("pipelines/p.yaml", error.File);
        Assert.StartsWith("pipelines/p.yaml:21:16: stages[0].sources[0].paths: file not found", error.ToString());
    }

    [Fact]
    public void Globs_match_files_below_the_pipeline_folder()
    {
        using var folder = new TempFolder();
        folder.Write("docs/a/one.md", "x");
        folder.Write("docs/a/b/two.md", "x");
        folder.Write("docs/three.txt", "x");

        var spec = PipelineLoader.Parse(Minimal("[docs/**/*.md, docs/thr??.txt]"), "p.yaml", folder.Root);

        Assert.Equal([folder.PathOf("docs/**/*.md"), folder.PathOf("docs/thr??.txt")], spec.Stages[0].Sources[0].Paths);
    }

    [Fact]
    public void A_glob_that_matches_only_a_hidden_file_matches_nothing()
    {
        using var folder = new TempFolder();
        folder.Write("docs/.draft.md", "x");

        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse(Minimal("docs/*.md"), "p.yaml", folder.Root));

        Assert.Equal($"glob matches no file '{folder.PathOf("docs/*.md")}'", Assert.Single(e.Errors).Message);
    }

    [Theory]
    [InlineData("12345", 12_345L)]
    [InlineData("1_000_000", 1_000_000L)]
    [InlineData("500k", 500_000L)]
    [InlineData("500K", 500_000L)]
    [InlineData("2M", 2_000_000L)]
    [InlineData("1.5M", 1_500_000L)]
    [InlineData("3B", 3_000_000_000L)]
    [InlineData("1_000B", 1_000_000_000_000L)]
    [InlineData("2T", 2_000_000_000_000L)]
    [InlineData("3e6", 3_000_000L)]
    [InlineData("\"2M\"", 2_000_000L)]
    public void Token_budgets_accept_separators_and_suffixes(string text, long expected)
    {
        using var folder = new TempFolder();
        folder.Write("data/x.jsonl", "{}");

        var spec = PipelineLoader.Parse(Minimal("data/x.jsonl", budget: text), "p.yaml", folder.Root);

        Assert.Equal(expected, spec.Stages[0].TokenBudget);
    }

    [Theory]
    [InlineData("2m")]
    [InlineData("2MB")]
    [InlineData("1.2345k")]
    [InlineData("_100")]
    [InlineData("1__000")]
    [InlineData("100_")]
    [InlineData("k")]
    [InlineData("9999999T")]
    [InlineData("true")]
    public void Malformed_token_budgets_are_refused_at_their_line(string text)
    {
        using var folder = new TempFolder();
        folder.Write("data/x.jsonl", "{}");

        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse(Minimal("data/x.jsonl", budget: text), "p.yaml", folder.Root));

        var error = Assert.Single(e.Errors);
        Assert.Equal(("stages[0].token_budget", 18, 19), (error.Path, error.Line, error.Column));
        Assert.Equal($"must be a whole number (digits, '_' between digits, optionally ending in k, M, B or T), not '{text}'", error.Message);
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64KiB", 65_536L)]
    [InlineData("16 MiB", 16L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("8_192", 8192L)]
    public void Byte_sizes_accept_binary_suffixes(string text, long expected)
    {
        using var folder = new TempFolder();
        folder.Write("data/x.jsonl", "{}");

        var spec = PipelineLoader.Parse(Minimal("data/x.jsonl", sourceExtra: $"shard_bytes: {text}"), "p.yaml", folder.Root);

        Assert.Equal(expected, spec.Stages[0].Sources[0].ShardBytes);
    }

    [Fact]
    public void Loading_writes_nothing()
    {
        using var files = new PipelineFiles();
        files.Set(31, "        path: data/missing.jsonl");
        Assert.Throws<PipelineValidationException>(() => files.Load());
        var before = files.Folder.Snapshot();

        Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(files.PipelinePath));
        files.Set(31, "        path: data/en.jsonl").Load();
        var afterValid = files.Folder.Snapshot();
        PipelineLoader.Load(files.PipelinePath);

        Assert.Equal(before.Where(e => !e.Contains("pipeline.yaml")), files.Folder.Snapshot().Where(e => !e.Contains("pipeline.yaml")));
        Assert.Equal(afterValid, files.Folder.Snapshot());
    }

    /// <summary>A small valid pipeline whose one source has the given paths value (line 21) and budget (line 18).</summary>
    private static string Minimal(string paths, string budget = "1000", string tokenizer = "train: {vocab_size: 300}", string sourceExtra = "min_chars: 20") => $"""
        name: minimal
        tokenizer:
          {tokenizer}
        model:
          hidden_size: 32
          intermediate_size: 64
          num_layers: 1
          num_heads: 2
          num_kv_heads: 1
          max_position_embeddings: 64
        training:
          seq_length: 32
          micro_batch_size: 2
          learning_rate: 1e-3
        evaluation: {"{}"}
        stages:
          - name: only
            token_budget: {budget}
            sources:
              - name: src
                paths: {paths}
                {sourceExtra}
        """;
}
