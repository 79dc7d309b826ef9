namespace Jiniac.Contracts.Pipeline;

/// <summary>integrations: where a run's events go besides the host's own sinks (docs/pipeline-reference.md, "integrations").</summary>
public sealed record IntegrationsSpec
{
    public IReadOnlyList<WebhookSpec> Webhooks { get; init; } = [];
}

/// <summary>
/// integrations.webhooks[i]: a signed HTTP POST of each matching event of this run. The secret is never in the file:
/// it is read at delivery time from <see cref="SecretFile"/> or the environment variable <see cref="SecretEnv"/>.
/// </summary>
public sealed record WebhookSpec
{
    public required string Name { get; init; }
    public required string Url { get; init; }
    /// <summary>Event type names (e.g. CheckpointSaved); empty means every event.</summary>
    public IReadOnlyList<string> Events { get; init; } = [];
    public string? SecretFile { get; init; }
    public string? SecretEnv { get; init; }
    /// <summary>After this many failed attempts an event goes to the subscription's dead letters.</summary>
    public int MaxAttempts { get; init; } = 8;
}
