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
