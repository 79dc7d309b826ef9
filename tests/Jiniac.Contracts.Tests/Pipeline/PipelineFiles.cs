using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>
/// A valid pipeline file with the data it names, written into a temp folder. Tests change single lines
/// of <see cref="Lines"/> and assert on the line numbers the loader reports, so the numbered comment
/// below is the map those tests rely on.
/// </summary>
public sealed class PipelineFiles : IDisposable
{
    public static readonly string[] Valid =
    [
        /* 1 */ "name: demo",
        /* 2 */ "description: a small test pipeline",
        /* 3 */ "tokenizer:",
        /* 4 */ "  train:",
        /* 5 */ "    vocab_size: 512",
        /* 6 */ "    special_tokens: [\"<|endoftext|>\", \"<|pad|>\"]",
        /* 7 */ "model:",
        /* 8 */ "  hidden_size: 64",
        /* 9 */ "  intermediate_size: 176",
        /* 10 */ "  num_layers: 2",
        /* 11 */ "  num_heads: 4",
        /* 12 */ "  num_kv_heads: 2",
        /* 13 */ "  max_position_embeddings: 128",
        /* 14 */ "training:",
        /* 15 */ "  seq_length: 64",
        /* 16 */ "  micro_batch_size: 4",
        /* 17 */ "  learning_rate: 3e-3",
        /* 18 */ "  min_learning_rate: 3e-4",
        /* 19 */ "  warmup_steps: 10",
        /* 20 */ "  checkpoint_interval: 50",
        /* 21 */ "evaluation:",
        /* 22 */ "  every_n_checkpoints: 2",
        /* 23 */ "publish:",
        /* 24 */ "  repo: jiniac/demo",
        /* 25 */ "  languages: [en, ja]",
        /* 26 */ "stages:",
        /* 27 */ "  - name: en-prose",
        /* 28 */ "    token_budget: 2M",
        /* 29 */ "    sources:",
        /* 30 */ "      - name: prose",
        /* 31 */ "        path: data/en.jsonl",
        /* 32 */ "        weight: 1.0",
        /* 33 */ "  - name: ja-web",
        /* 34 */ "    token_budget: 1_500_000",
        /* 35 */ "    sources:",
        /* 36 */ "      - name: web",
        /* 37 */ "        paths: [\"data/ja/web/*.html\"]",
        /* 38 */ "        format: tree",
        /* 39 */ "      - name: wiki",
        /* 40 */ "        paths:",
        /* 41 */ "          - data/ja/wiki.jsonl.gz",
        /* 42 */ "        eval_fraction: 0.1",
    ];

    public PipelineFiles()
    {
        Folder.Write("data/en.jsonl", "{\"text\": \"It was a bright cold day in April.\"}\n");
        Folder.Write("data/ja/web/a.html", "<html><body><p>吾輩は猫である。</p></body></html>");
        Folder.Write("data/ja/web/b.html", "<html><body><p>名前はまだ無い。</p></body></html>");
        Folder.WriteGzip("data/ja/wiki.jsonl.gz", "{\"text\": \"日本語の文書です。\"}\n");
        Folder.Write("tokenizer.json", "{}");
        Lines = [.. Valid];
    }

    public TempFolder Folder { get; } = new();

    public List<string> Lines { get; }

    public string PipelinePath => Folder.PathOf("pipeline.yaml");

    /// <summary>Replaces line <paramref name="number"/> (1-based).</summary>
    public PipelineFiles Set(int number, string text)
    {
        Lines[number - 1] = text;
        return this;
    }

    public PipelineFiles Remove(int first, int last)
    {
        Lines.RemoveRange(first - 1, last - first + 1);
        return this;
    }

    /// <summary>Inserts lines so that the first of them becomes line <paramref name="number"/>.</summary>
    public PipelineFiles Insert(int number, params string[] text)
    {
        Lines.InsertRange(number - 1, text);
        return this;
    }

    public PipelineSpec Load()
    {
        Folder.Write("pipeline.yaml", string.Join('\n', Lines) + "\n");
        return PipelineLoader.Load(PipelinePath);
    }

    /// <summary>Loads the file expecting it to be refused; returns the problems.</summary>
    public IReadOnlyList<PipelineError> Errors()
    {
        var e = Assert.Throws<PipelineValidationException>(() => Load());
        return e.Errors;
    }

    /// <summary>Loads the file expecting exactly one problem.</summary>
    public PipelineError Error()
    {
        var errors = Errors();
        return Assert.Single(errors);
    }

    public void Dispose() => Folder.Dispose();
}
