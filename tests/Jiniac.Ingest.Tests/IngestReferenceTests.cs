using Jiniac.Contracts.Pipeline;

namespace Jiniac.Ingest.Tests;

/// <summary>The source example in docs/pipeline-reference.md loads, with the values it shows; bad values are refused with their line.</summary>
public sealed class IngestReferenceTests : IDisposable
{
    private readonly IngestFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    /// <summary>The first yaml block after <paramref name="heading"/> in docs/pipeline-reference.md.</summary>
    internal static string Example(string heading = "#### Cleaning, PII and dedup of a source")
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "pipeline-reference.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var text = File.ReadAllText(Path.Combine(dir.FullName, "docs", "pipeline-reference.md"));
        var section = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(section >= 0, $"no '{heading}' in docs/pipeline-reference.md");
        var start = text.IndexOf("```yaml\n", section, StringComparison.Ordinal) + "```yaml\n".Length;
        return text[start..text.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void The_reference_source_example_loads()
    {
        _fx.Write("data/ja/a/x.jsonl.zst", "");
        _fx.Write("data/ja/dump.parquet", "");

        var spec = PipelineLoader.ParseSource(Example(), "pipeline-reference.md", _fx.Input, "unused", []);

        Assert.Equal(("ja-web", "content"), (spec.Name, spec.TextField));
        Assert.Equal(new CleaningSpec
        {
            StripUrls = true, MaxChars = 200_000, Languages = spec.Cleaning.Languages, MinJapaneseRatio = 0.3, MaxSymbolRatio = 0.2,
        }, spec.Cleaning);
        Assert.Equal(["ja"], spec.Cleaning.Languages);
        Assert.Equal(["email", "phone", "mynumber"], spec.Pii.Kinds);
        Assert.True(spec.Pii.Redact);
        Assert.Equal(new DedupSpec { Shingle = 5, Bands = 16, Rows = 8 }, spec.Dedup);
    }

    [Fact]
    public void Source_rules_in_a_pipeline_are_read_per_source_and_default_otherwise()
    {
        var data = _fx.Write("a.jsonl", "{}\n");
        var yaml = $$"""
            name: p
            tokenizer: { path: tok.json }
            model: { hidden_size: 64, intermediate_size: 128, num_layers: 1, num_heads: 2, num_kv_heads: 1, max_position_embeddings: 64 }
            training: { seq_length: 32, micro_batch_size: 1, learning_rate: 1e-3 }
            stages:
              - name: s
                token_budget: 1000
                sources:
                  - name: a
                    path: {{data}}
                    dedup: { near: false }
                  - name: b
                    path: {{data}}
            """;
        _fx.Write("tok.json", "{}");

        var spec = PipelineLoader.Parse(yaml, "p.yaml", _fx.Input);

        var sources = spec.Stages[0].Sources;
        Assert.False(sources[0].Dedup.Near);
        Assert.Equal(new DedupSpec(), sources[1].Dedup);
        Assert.Equal(new CleaningSpec().MaxSymbolRatio, sources[1].Cleaning.MaxSymbolRatio);
    }

    [Theory]
    [InlineData("cleaning:\n  max_digit_ratio: 1.5\n", 2, "cleaning.max_digit_ratio", "must be between 0 and 1")]
    [InlineData("cleaning:\n  languages: [ja, fr]\n", 2, "cleaning.languages[1]", "must be one of ja, en, other, not 'fr'")]
    [InlineData("pii:\n  kinds: [email, ssn]\n", 2, "pii.kinds[1]", "must be one of email, phone, mynumber, card, ip, not 'ssn'")]
    [InlineData("dedup:\n  bands: 0\n", 2, "dedup.bands", "must be between 1 and 64")]
    [InlineData("cleaning:\n  repetiton: false\n", 2, "cleaning.repetiton", "did you mean 'repetition'?")]
    public void Bad_rules_are_refused_with_file_line_and_path(string yaml, int line, string path, string message)
    {
        var data = _fx.Write("a.jsonl", "{}\n");

        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.ParseSource(yaml, "s.yaml", _fx.Input, "s", [data]));

        var error = Assert.Single(e.Errors);
        Assert.Equal((line, path), (error.Line, error.Path));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task A_glob_reads_exactly_the_files_the_loaders_glob_rules_match()
    {
        // The documented rules (SourcePaths): '*' skips names starting with '.', a pattern starting with '.' matches them.
        _fx.Write("web/a.jsonl", "{\"text\": \"visible document\"}\n");
        _fx.Write("web/.hidden.jsonl", "{\"text\": \"hidden document\"}\n");
        _fx.Write("web/sub/b.jsonl", "{\"text\": \"nested document\"}\n");

        foreach (var (glob, expected) in new[] { ("web/*.jsonl", new[] { "visible document" }), ("web/.*.jsonl", ["hidden document"]),
            ("web/**/*.jsonl", ["visible document", "nested document"]) })
        {
            var pattern = Path.Combine(_fx.Input, glob);
            Assert.Equal(expected.Length, SourcePaths.ExpandGlob(pattern).Count);
            var (result, _) = await _fx.IngestAsync(IngestFixture.Spec("g", pattern), $"runs/r/s/{expected.Length}{glob.Length}");
            Assert.Equal(expected, (await _fx.DocumentsAsync(result.Shards)).Select(d => d.Text));
        }
    }
}
