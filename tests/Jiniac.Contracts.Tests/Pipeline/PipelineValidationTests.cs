using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>Each rule of the pipeline file, broken on one line of <see cref="PipelineFiles.Valid"/>: the loader must name that line and the path.</summary>
public sealed class PipelineValidationTests
{
    [Theory]
    // names
    [InlineData(1, "name: \"my pipeline\"", 1, 7, "name", "pipeline name 'my pipeline' is not a safe name")]
    [InlineData(1, "name: ../escape", 1, 7, "name", "is not a safe name")]
    [InlineData(27, "  - name: en/prose", 27, 11, "stages[0].name", "stage name 'en/prose' is not a safe name")]
    [InlineData(30, "      - name: \"\"", 30, 15, "stages[0].sources[0].name", "source name '' is not a safe name")]
    [InlineData(33, "  - name: EN-PROSE", 33, 11, "stages[1].name", "stage name 'EN-PROSE' is already used by the stage on line 27")]
    [InlineData(39, "      - name: web", 39, 15, "stages[1].sources[1].name", "source name 'web' is already used in this stage by the source on line 36")]
    // stages and sources
    [InlineData(28, "    token_budget: 0", 28, 19, "stages[0].token_budget", "must be greater than 0")]
    [InlineData(28, "    token_budget: -5k", 28, 19, "stages[0].token_budget", "must be greater than 0")]
    [InlineData(28, "    token_budget: 2 million", 28, 19, "stages[0].token_budget", "must be a whole number")]
    [InlineData(32, "        weight: 0", 32, 17, "stages[0].sources[0].weight", "must be greater than 0")]
    [InlineData(32, "        weight: heavy", 32, 17, "stages[0].sources[0].weight", "must be a number, not 'heavy'")]
    [InlineData(42, "        eval_fraction: 0.6", 42, 24, "stages[1].sources[1].eval_fraction", "must be between 0 and 0.5")]
    [InlineData(42, "        eval_fraction: -0.1", 42, 24, "stages[1].sources[1].eval_fraction", "must be between 0 and 0.5")]
    [InlineData(42, "        shard_bytes: 4095", 42, 22, "stages[1].sources[1].shard_bytes", "must be at least 4096")]
    [InlineData(42, "        min_chars: -1", 42, 20, "stages[1].sources[1].min_chars", "must be at least 0")]
    [InlineData(42, "        text_field: \"\"", 42, 21, "stages[1].sources[1].text_field", "cannot be empty")]
    [InlineData(42, "        domain: ja/wiki", 42, 17, "stages[1].sources[1].domain", "domain 'ja/wiki' is not a safe name")]
    [InlineData(38, "        format: csv", 38, 17, "stages[1].sources[0].format", "must be one of auto, jsonl, jsonl.gz, jsonl.zst, parquet, tree, not 'csv'")]
    [InlineData(34, "    token_budget: 1_500_000\n    learning_rate: 0", 35, 20, "stages[1].learning_rate", "must be greater than 0")]
    [InlineData(37, "        paths: [\"data/ja/web/*.txt\"]", 37, 17, "stages[1].sources[0].paths[0]", "glob matches no file")]
    [InlineData(41, "          - data/ja/missing.jsonl.gz", 41, 13, "stages[1].sources[1].paths[0]", "file not found")]
    [InlineData(41, "          - \"\"", 41, 13, "stages[1].sources[1].paths[0]", "a path cannot be empty")]
    // tokenizer
    [InlineData(5, "    vocab_size: 258", 5, 17, "tokenizer.train.vocab_size", "must be greater than 258 (256 byte tokens + 2 special tokens)")]
    [InlineData(5, "    vocab_size: 1000001", 5, 17, "tokenizer.train.vocab_size", "must be at most 1000000")]
    [InlineData(5, "    vocab_size: 2.5e2", 5, 17, "tokenizer.train.vocab_size", "must be greater than 258")]
    [InlineData(5, "    vocab_size: 99999999999", 5, 17, "tokenizer.train.vocab_size", "is out of range")]
    [InlineData(6, "    special_tokens: []", 6, 5, "tokenizer.train.special_tokens", "list at least one special token")]
    [InlineData(6, "    special_tokens: [\"<|eot|>\", \"<|eot|>\"]", 6, 33, "tokenizer.train.special_tokens[1]", "special token '<|eot|>' is listed twice")]
    [InlineData(6, "    min_frequency: 0", 6, 20, "tokenizer.train.min_frequency", "must be at least 1")]
    [InlineData(6, "    sample_bytes: 0", 6, 19, "tokenizer.train.sample_bytes", "must be greater than 0")]
    // model
    [InlineData(8, "  hidden_size: 0", 8, 16, "model.hidden_size", "must be at least 1")]
    [InlineData(9, "  intermediate_size: -1", 9, 22, "model.intermediate_size", "must be at least 1")]
    [InlineData(10, "  num_layers: 0", 10, 15, "model.num_layers", "must be at least 1")]
    [InlineData(13, "  max_position_embeddings: 0", 13, 28, "model.max_position_embeddings", "must be at least 1")]
    [InlineData(8, "  hidden_size: 66", 11, 14, "model.num_heads", "hidden_size (66) must be divisible by num_heads (4)")]
    [InlineData(11, "  num_heads: 64", 11, 14, "model.num_heads", "head dimension hidden_size / num_heads = 1 must be even")]
    [InlineData(12, "  num_kv_heads: 3", 12, 17, "model.num_kv_heads", "num_heads (4) must be divisible by num_kv_heads (3)")]
    [InlineData(10, "  num_layers: 2.5", 10, 15, "model.num_layers", "must be a whole number, not '2.5'")]
    [InlineData(10, "  num_layers: 2\n  rms_norm_eps: 0", 11, 17, "model.rms_norm_eps", "must be greater than 0")]
    [InlineData(10, "  num_layers: 2\n  tie_word_embeddings: maybe", 11, 24, "model.tie_word_embeddings", "must be true or false, not 'maybe'")]
    // training
    [InlineData(15, "  seq_length: 256", 15, 15, "training.seq_length", "must be at most model.max_position_embeddings (128)")]
    [InlineData(15, "  seq_length: 1", 15, 15, "training.seq_length", "must be at least 2")]
    [InlineData(16, "  micro_batch_size: 0", 16, 21, "training.micro_batch_size", "must be at least 1")]
    [InlineData(16, "  micro_batch_size: four", 16, 21, "training.micro_batch_size", "must be a whole number, not 'four'")]
    [InlineData(16, "  micro_batch_size: [4]", 16, 3, "training.micro_batch_size", "must be a whole number, not a list")]
    [InlineData(17, "  learning_rate: 0", 17, 18, "training.learning_rate", "must be greater than 0")]
    [InlineData(18, "  min_learning_rate: 0.01", 18, 22, "training.min_learning_rate", "must be at most learning_rate (0.003)")]
    [InlineData(18, "  min_learning_rate: -1e-4", 18, 22, "training.min_learning_rate", "must be at least 0")]
    [InlineData(19, "  warmup_steps: -1", 19, 17, "training.warmup_steps", "must be at least 0")]
    [InlineData(19, "  grad_clip: 0", 19, 14, "training.grad_clip", "must be greater than 0")]
    [InlineData(19, "  max_restarts: -1", 19, 17, "training.max_restarts", "must be at least 0")]
    [InlineData(19, "  beta2: 1", 19, 10, "training.beta2", "must be in [0, 1)")]
    [InlineData(20, "  checkpoint_interval: 0", 20, 24, "training.checkpoint_interval", "must be at least 1")]
    [InlineData(20, "  log_interval: 0", 20, 17, "training.log_interval", "must be at least 1")]
    // evaluation and publish
    [InlineData(22, "  every_n_checkpoints: -2", 22, 24, "evaluation.every_n_checkpoints", "must be at least 0")]
    [InlineData(24, "  repo: demo", 24, 9, "publish.repo", "'demo' is not 'owner/name'")]
    [InlineData(24, "  repo: jiniac/../etc", 24, 9, "publish.repo", "is not 'owner/name'")]
    [InlineData(24, "  repo: jiniac/demo model", 24, 9, "publish.repo", "is not 'owner/name'")]
    [InlineData(25, "  languages: [en, \"日本語\"]", 25, 19, "publish.languages[1]", "is not a language code")]
    public void A_broken_rule_is_reported_at_its_line_and_path(int line, string text, int expectedLine, int expectedColumn, string expectedPath, string expectedMessage)
    {
        using var files = new PipelineFiles();
        var error = files.Set(line, text).Error();

        Assert.Equal(expectedPath, error.Path);
        Assert.Equal(expectedLine, error.Line);
        Assert.Equal(expectedColumn, error.Column);
        Assert.Contains(expectedMessage, error.Message);
        Assert.Equal(files.PipelinePath, error.File);
    }

    [Fact]
    public void A_missing_source_file_names_its_absolute_path_in_the_compiler_style_message()
    {
        using var files = new PipelineFiles();
        files.Set(31, "        path: data/missing.jsonl");

        var e = Assert.Throws<PipelineValidationException>(() => files.Load());

        var expected = $"{files.PipelinePath}:31:15: stages[0].sources[0].path: file not found '{files.Folder.PathOf("data/missing.jsonl")}'";
        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
        Assert.Equal($"The pipeline file has 1 problem:\n{expected}", e.Message);
    }

    [Fact]
    public void A_missing_required_key_is_reported_at_its_section()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(16, 16).Error();

        Assert.Equal(("training.micro_batch_size", 14, 1), (error.Path, error.Line, error.Column));
        Assert.Equal("is required but missing", error.Message);
    }

    [Fact]
    public void A_missing_section_is_reported_once_without_cascading()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(7, 13).Error();

        Assert.Equal(("model", 1, 1), (error.Path, error.Line, error.Column));
        Assert.Equal("is required but missing", error.Message);
    }

    [Fact]
    public void A_key_with_no_value_is_reported_at_the_key()
    {
        using var files = new PipelineFiles();
        var error = files.Set(28, "    token_budget:").Error();

        Assert.Equal(("stages[0].token_budget", 28, 5), (error.Path, error.Line, error.Column));
        Assert.Equal("a value is required", error.Message);
    }

    [Fact]
    public void A_section_of_the_wrong_type_is_reported_once()
    {
        using var files = new PipelineFiles();
        var error = files.Set(21, "evaluation: 3").Remove(22, 22).Error();

        Assert.Equal(("evaluation", 21, 13), (error.Path, error.Line, error.Column));
        Assert.Equal("must be a mapping of keys to values, not '3'", error.Message);
    }

    [Fact]
    public void A_stage_without_sources_is_refused()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(29, 32).Insert(29, "    sources: []").Error();

        Assert.Equal(("stages[0].sources", 29, 5), (error.Path, error.Line, error.Column));
        Assert.Equal("list at least one source", error.Message);
    }

    [Fact]
    public void A_stage_with_no_sources_key_is_refused()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(29, 32).Error();

        Assert.Equal(("stages[0].sources", 27, 5), (error.Path, error.Line, error.Column));
        Assert.Equal("is required but missing", error.Message);
    }

    [Fact]
    public void A_pipeline_without_stages_is_refused()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(27, 42).Set(26, "stages: []").Error();

        Assert.Equal(("stages", 26, 1), (error.Path, error.Line, error.Column));
        Assert.Equal("list at least one stage", error.Message);
    }

    [Fact]
    public void A_source_needs_a_path()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(31, 31).Error();

        Assert.Equal(("stages[0].sources[0].paths", 30, 9), (error.Path, error.Line, error.Column));
        Assert.StartsWith("is required but missing", error.Message);
    }

    [Fact]
    public void A_source_cannot_have_both_path_and_paths()
    {
        using var files = new PipelineFiles();
        var error = files.Insert(32, "        paths: [data/en.jsonl]").Error();

        Assert.Equal(("stages[0].sources[0].path", 31, 15), (error.Path, error.Line, error.Column));
        Assert.Equal("give either 'path' or 'paths', not both", error.Message);
    }

    [Fact]
    public void The_tokenizer_cannot_be_both_given_and_trained()
    {
        using var files = new PipelineFiles();
        var error = files.Insert(4, "  path: tokenizer.json").Error();

        Assert.Equal(("tokenizer.train", 5, 3), (error.Path, error.Line, error.Column));
        Assert.Contains("not both", error.Message);
    }

    [Fact]
    public void The_tokenizer_must_be_given_or_trained()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(4, 6).Set(3, "tokenizer: {}").Error();

        Assert.Equal(("tokenizer.path", 3, 1), (error.Path, error.Line, error.Column));
        Assert.Contains("give either 'path'", error.Message);
    }

    [Fact]
    public void A_given_tokenizer_must_exist()
    {
        using var files = new PipelineFiles();
        var error = files.Remove(4, 6).Insert(4, "  path: tokenizers/missing.json").Error();

        Assert.Equal(("tokenizer.path", 4, 9), (error.Path, error.Line, error.Column));
        Assert.Equal($"file not found '{files.Folder.PathOf("tokenizers/missing.json")}'", error.Message);
    }

    [Fact]
    public void An_unknown_key_gets_a_did_you_mean_suggestion()
    {
        using var files = new PipelineFiles();
        var error = files.Set(20, "  checkpoint_intervl: 50").Error();

        Assert.Equal(("training.checkpoint_intervl", 20, 3), (error.Path, error.Line, error.Column));
        Assert.Equal("unknown key 'checkpoint_intervl'; did you mean 'checkpoint_interval'?", error.Message);
    }

    [Fact]
    public void A_camel_case_key_is_matched_to_its_snake_case_form()
    {
        using var files = new PipelineFiles();
        var errors = files.Set(16, "  microBatchSize: 4").Errors();

        Assert.Collection(errors,
            e => Assert.Equal(("training.micro_batch_size", 14, "is required but missing"), (e.Path, e.Line, e.Message)),
            e => Assert.Equal(("training.microBatchSize", 16, "unknown key 'microBatchSize'; did you mean 'micro_batch_size'?"), (e.Path, e.Line, e.Message)));
    }

    [Fact]
    public void An_unknown_key_far_from_any_known_one_lists_the_valid_keys()
    {
        using var files = new PipelineFiles();
        var error = files.Insert(23, "owner: someone").Error();

        Assert.Equal(("owner", 23, 1), (error.Path, error.Line, error.Column));
        Assert.Equal("unknown key 'owner'; expected one of: name, description, tokenizer, model, training, evaluation, publish, stages, integrations", error.Message);
    }

    [Fact]
    public void Several_problems_are_all_reported_in_line_order()
    {
        using var files = new PipelineFiles();
        files.Set(5, "    vocab_size: 100")
            .Set(12, "  num_kv_heads: 3")
            .Set(15, "  seq_length: 512")
            .Set(28, "    token_budget: 0")
            .Set(31, "        path: data/missing.jsonl")
            .Set(33, "  - name: en-prose")
            .Set(42, "        eval_fraction: 0.9");

        var errors = files.Errors();

        Assert.Equal(
            [
                (5, "tokenizer.train.vocab_size"),
                (12, "model.num_kv_heads"),
                (15, "training.seq_length"),
                (28, "stages[0].token_budget"),
                (31, "stages[0].sources[0].path"),
                (33, "stages[1].name"),
                (42, "stages[1].sources[1].eval_fraction"),
            ],
            errors.Select(e => (e.Line, e.Path)).ToArray());
        var e = Assert.Throws<PipelineValidationException>(() => files.Load());
        Assert.StartsWith("The pipeline file has 7 problems:\n", e.Message);
        Assert.Equal(8, e.Message.Split('\n').Length);
    }

    [Fact]
    public void A_yaml_syntax_error_is_one_problem_at_the_parsers_line()
    {
        using var files = new PipelineFiles();
        var error = files.Set(17, "  learning_rate: [3e-3").Error();

        Assert.Equal("", error.Path);
        Assert.Equal(18, error.Line);
        Assert.StartsWith("YAML syntax error: ", error.Message);
        Assert.DoesNotContain("(Line:", error.Message);
    }

    [Fact]
    public void An_unclosed_quote_is_a_syntax_error_with_the_parsers_message()
    {
        using var files = new PipelineFiles();
        var error = files.Set(24, "  repo: \"jiniac/demo").Error();

        Assert.Equal("", error.Path);
        Assert.Equal(24, error.Line);
        Assert.StartsWith("YAML syntax error: ", error.Message);
        Assert.DoesNotContain("(Line:", error.Message);
    }

    [Fact]
    public void A_bad_indentation_is_a_syntax_error_at_its_line()
    {
        using var files = new PipelineFiles();
        var error = files.Set(9, "   intermediate_size: 176").Error();

        Assert.Equal(9, error.Line);
        Assert.StartsWith("YAML syntax error: ", error.Message);
    }

    [Fact]
    public void A_duplicate_key_is_refused_at_its_line()
    {
        using var files = new PipelineFiles();
        var error = files.Set(9, "  hidden_size: 64").Error();

        Assert.Equal(9, error.Line);
        Assert.Contains("Duplicate key", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse("# nothing here\n", "pipeline.yaml", folder.Root));

        Assert.Equal("pipeline.yaml: the file is empty", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void A_file_that_is_not_a_mapping_is_refused()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Parse("\n- a\n- b\n", "pipeline.yaml", folder.Root));

        var error = Assert.Single(e.Errors);
        Assert.Equal((2, 1), (error.Line, error.Column));
        Assert.StartsWith("the file must be a mapping", error.Message);
    }

    [Fact]
    public void A_second_yaml_document_is_refused()
    {
        using var files = new PipelineFiles();
        var error = files.Insert(43, "---", "name: other").Error();

        Assert.Equal(44, error.Line);
        Assert.StartsWith("only one YAML document is allowed", error.Message);
    }

    [Fact]
    public void A_missing_pipeline_file_is_a_validation_problem()
    {
        using var folder = new TempFolder();
        var path = folder.PathOf("nope.yaml");

        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(path));

        Assert.Equal($"{path}: file not found '{path}'", Assert.Single(e.Errors).ToString());
    }
}
