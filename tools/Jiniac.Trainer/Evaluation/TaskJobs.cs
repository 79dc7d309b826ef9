namespace Jiniac.Trainer.Evaluation;

// The task and generation parts of EVAL.json and results.json (docs/trainer-contract.md, snake_case).

/// <summary>One benchmark file scored on the checkpoint.</summary>
public sealed record TaskJob
{
    /// <summary>Reported name (metrics are "name/metric").</summary>
    public required string Name { get; init; }
    /// <summary>jcommonsenseqa | jnli | jsquad (see <see cref="TaskFormats"/>).</summary>
    public required string Format { get; init; }
    /// <summary>The documents scored: JSON Lines for jcommonsenseqa and jnli, SQuAD 1.1 JSON for jsquad.</summary>
    public required string Path { get; init; }
    /// <summary>A separate split the few-shot examples are drawn from; required when <see cref="NumFewshot"/> &gt; 0.</summary>
    public string? FewshotPath { get; init; }
    public int NumFewshot { get; init; }
    /// <summary>Seed of the few-shot draw: the same seed gives the same shots for each document.</summary>
    public long Seed { get; init; } = 1234;
    /// <summary>Score only the first this many documents (0 = all).</summary>
    public int Limit { get; init; }
    /// <summary>Generation budget of jsquad answers.</summary>
    public int MaxNewTokens { get; init; } = 32;
}

/// <summary>Generation samples: each prompt continued greedily and/or by nucleus sampling.</summary>
public sealed record GenerationJob
{
    /// <summary>Reported with each sample (the suite that asked for them).</summary>
    public string Name { get; init; } = "";
    public required IReadOnlyList<string> Prompts { get; init; }
    public int MaxNewTokens { get; init; } = 32;
    /// <summary>Also continue each prompt greedily.</summary>
    public bool Greedy { get; init; } = true;
    /// <summary>Sampled continuations per prompt (0 = none).</summary>
    public int Samples { get; init; } = 1;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.9;
    /// <summary>HF repetition_penalty (1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    public long Seed { get; init; } = 1234;
    /// <summary>n of the repetition rate (share of the continuation's token n-grams seen earlier in it).</summary>
    public int Ngram { get; init; } = 3;
}

public sealed record TaskResult
{
    public required string Name { get; init; }
    public required string Format { get; init; }
    public required int NumFewshot { get; init; }
    public required int Count { get; init; }
    /// <summary>Metric name → value, e.g. acc, acc_stderr, acc_norm, acc_norm_stderr, acc_bytes, exact_match, char_f1.</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    /// <summary>Per-document detail (JSON Lines, as lm-evaluation-harness's samples file).</summary>
    public required string SamplesFile { get; init; }
}

public sealed record GenerationResult
{
    public required string Name { get; init; }
    public required string Prompt { get; init; }
    /// <summary>greedy | sample</summary>
    public required string Mode { get; init; }
    public required int Index { get; init; }
    public required string Text { get; init; }
    public required int Tokens { get; init; }
    public required double RepetitionRate { get; init; }
}
