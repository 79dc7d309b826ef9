using System.Text.Json.Serialization;

namespace Jiniac.Evaluator;

// EVAL.json and results.json exactly as docs/trainer-contract.md spells them.

internal sealed record EvalJob
{
    [JsonPropertyName("checkpoint")] public required string Checkpoint { get; init; }
    [JsonPropertyName("context_length")] public required int ContextLength { get; init; }
    [JsonPropertyName("max_tokens_per_domain")] public required long MaxTokensPerDomain { get; init; }
    [JsonPropertyName("sets")] public required IReadOnlyList<EvalJobSet> Sets { get; init; }
    [JsonPropertyName("output")] public required string Output { get; init; }
    [JsonPropertyName("threads")] public required int Threads { get; init; }
    [JsonPropertyName("tokenizer")] public string? Tokenizer { get; init; }
    [JsonPropertyName("tasks")] public IReadOnlyList<EvalJobTask> Tasks { get; init; } = [];
    [JsonPropertyName("generations")] public IReadOnlyList<EvalJobGeneration> Generations { get; init; } = [];
}

internal sealed record EvalJobSet
{
    [JsonPropertyName("domain")] public required string Domain { get; init; }
    [JsonPropertyName("prefixes")] public required IReadOnlyList<string> Prefixes { get; init; }
    [JsonPropertyName("text_bytes")] public required long TextBytes { get; init; }
}

internal sealed record EvalResults
{
    [JsonPropertyName("results")] public IReadOnlyList<EvalResult>? Results { get; init; }
    [JsonPropertyName("tasks")] public IReadOnlyList<EvalTaskResult>? Tasks { get; init; }
    [JsonPropertyName("generations")] public IReadOnlyList<EvalGenerationResult>? Generations { get; init; }
}

internal sealed record EvalResult
{
    [JsonPropertyName("domain")] public string? Domain { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("text_bytes")] public long TextBytes { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("perplexity")] public double Perplexity { get; init; }
    [JsonPropertyName("bits_per_byte")] public double BitsPerByte { get; init; }
}

internal sealed record EvalJobTask
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("format")] public required string Format { get; init; }
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("fewshot_path")] public string? FewshotPath { get; init; }
    [JsonPropertyName("num_fewshot")] public int NumFewshot { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("limit")] public int Limit { get; init; }
    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; }
}

internal sealed record EvalJobGeneration
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("prompts")] public required IReadOnlyList<string> Prompts { get; init; }
    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; }
    [JsonPropertyName("greedy")] public bool Greedy { get; init; }
    [JsonPropertyName("samples")] public int Samples { get; init; }
    [JsonPropertyName("temperature")] public double Temperature { get; init; }
    [JsonPropertyName("top_p")] public double TopP { get; init; }
    [JsonPropertyName("repetition_penalty")] public double RepetitionPenalty { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("ngram")] public int Ngram { get; init; }
}

internal sealed record EvalTaskResult
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("count")] public int Count { get; init; }
    [JsonPropertyName("metrics")] public Dictionary<string, double>? Metrics { get; init; }
}

internal sealed record EvalGenerationResult
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }
    [JsonPropertyName("mode")] public string? Mode { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("tokens")] public int Tokens { get; init; }
    [JsonPropertyName("repetition_rate")] public double RepetitionRate { get; init; }
}

/// <summary>evaluation.json beside results.json: everything EvaluationCompleted reports, so a repeated request is answered from disk.</summary>
internal sealed record EvaluationRecord
{
    [JsonPropertyName("results")] public required IReadOnlyList<Jiniac.Contracts.DomainEvaluation> Results { get; init; }
    [JsonPropertyName("metrics")] public required IReadOnlyList<Jiniac.Contracts.EvaluationMetric> Metrics { get; init; }
    [JsonPropertyName("generations")] public required IReadOnlyList<Jiniac.Contracts.GenerationSample> Generations { get; init; }
}
