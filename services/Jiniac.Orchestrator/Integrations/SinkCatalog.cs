using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>A sink as one run sees it: what it delivers to, which types, how many attempts before a dead letter.</summary>
public sealed record SinkTarget(string Id, IEventSink Sink, IReadOnlySet<string>? Types, int MaxAttempts)
{
    /// <summary>Entries journaled before this are skipped (an API subscription made "from now").</summary>
    public DateTimeOffset? Since { get; init; }

    public bool Wants(string type, DateTimeOffset journaled) => (Types is null || Types.Contains(type)) && (Since is null || journaled >= Since);
}

/// <summary>
/// Which sinks follow a run, by id: <c>rabbitmq</c> and <c>dapr</c> (the host's, when configured), <c>webhook:ID</c>
/// (API subscriptions, every run or one) and <c>pipeline:NAME</c> (the run's own integrations.webhooks).
/// </summary>
public sealed class SinkCatalog(
    IGrainFactory grains,
    IOptions<IntegrationsOptions> options,
    RabbitMqEventSink rabbitMq,
    DaprEventSink dapr,
    IHttpClientFactory http,
    TimeProvider time)
{
    public const string RabbitMq = "rabbitmq";
    public const string Dapr = "dapr";
    public const string WebhookPrefix = "webhook:";
    public const string PipelinePrefix = "pipeline:";

    public async Task<IReadOnlyList<string>> SinkIdsAsync(string runId) =>
        [.. await HostAndApiSinkIdsAsync(runId), .. await PipelineSinkIdsAsync(runId) ?? []];

    /// <summary>The host's sinks and the API subscriptions that cover this run (these change while a run goes on).</summary>
    public async Task<IReadOnlyList<string>> HostAndApiSinkIdsAsync(string runId)
    {
        var ids = new List<string>();
        var o = options.Value;
        if (!string.IsNullOrEmpty(o.RabbitMq.Url))
        {
            ids.Add(RabbitMq);
        }

        if (!string.IsNullOrEmpty(o.Dapr.PubSub))
        {
            ids.Add(Dapr);
        }

        foreach (var s in await grains.GetGrain<IWebhookRegistryGrain>(SinkKeys.Registry).ListAsync())
        {
            if (s.RunId is null || s.RunId == runId)
            {
                ids.Add(WebhookPrefix + s.Id);
            }
        }

        return ids;
    }

    /// <summary>The run's own integrations.webhooks; null while the run is not submitted.</summary>
    public async Task<IReadOnlyList<string>?> PipelineSinkIdsAsync(string runId) =>
        await grains.GetGrain<IRunGrain>(runId).GetSpecAsync() is { } spec
            ? [.. (spec.Integrations?.Webhooks ?? []).Select(h => PipelinePrefix + h.Name)]
            : null;

    public async Task<SinkTarget?> ResolveAsync(string sinkId, string runId)
    {
        var o = options.Value;
        if (sinkId == RabbitMq)
        {
            return string.IsNullOrEmpty(o.RabbitMq.Url) ? null : new SinkTarget(sinkId, rabbitMq, TypesOf(o.RabbitMq.Events), o.Delivery.MaxAttempts);
        }

        if (sinkId == Dapr)
        {
            return string.IsNullOrEmpty(o.Dapr.PubSub) ? null : new SinkTarget(sinkId, dapr, TypesOf(o.Dapr.Events), o.Delivery.MaxAttempts);
        }

        if (sinkId.StartsWith(WebhookPrefix, StringComparison.Ordinal))
        {
            var id = sinkId[WebhookPrefix.Length..];
            var s = (await grains.GetGrain<IWebhookRegistryGrain>(SinkKeys.Registry).ListAsync()).FirstOrDefault(x => x.Id == id);
            if (s is null || (s.RunId is not null && s.RunId != runId))
            {
                return null;
            }

            var secret = s.Secret;
            return new SinkTarget(sinkId, Webhook(s.Url, () => secret), TypesOf(s.EventTypes), s.MaxAttempts > 0 ? s.MaxAttempts : o.Delivery.MaxAttempts)
            {
                Since = s.FromNow ? s.Created : null,
            };
        }

        if (sinkId.StartsWith(PipelinePrefix, StringComparison.Ordinal))
        {
            var name = sinkId[PipelinePrefix.Length..];
            var hook = (await grains.GetGrain<IRunGrain>(runId).GetSpecAsync())?.Integrations?.Webhooks.FirstOrDefault(w => w.Name == name);
            return hook is null ? null : new SinkTarget(sinkId, Webhook(hook.Url, () => PipelineSecret(hook)), TypesOf(hook.Events), hook.MaxAttempts);
        }

        return null;
    }

    private WebhookSink Webhook(string url, Func<string> secret) => new(http.CreateClient(WebhookSink.HttpClientName), time, new Uri(url), secret);

    /// <summary>Read at each delivery, so a rotated secret takes effect without a restart; never stored.</summary>
    private static string PipelineSecret(WebhookSpec hook)
    {
        if (hook.SecretFile is { } file)
        {
            return File.ReadAllText(file).Trim();
        }

        return Environment.GetEnvironmentVariable(hook.SecretEnv!) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"environment variable {hook.SecretEnv} is not set");
    }

    public static IReadOnlySet<string>? TypesOf(IEnumerable<string> types)
    {
        var set = new HashSet<string>(types, StringComparer.Ordinal);
        return set.Count == 0 ? null : set;
    }

    /// <summary>Options naming a type no journal holds are refused at startup rather than silently delivering nothing.</summary>
    public static IEnumerable<string> Validate(IntegrationsOptions o) =>
        o.RabbitMq.Events.Where(t => !EventTypes.All.Contains(t)).Select(t => $"Integrations:RabbitMq:Events: '{t}' is not an event type")
            .Concat(o.Dapr.Events.Where(t => !EventTypes.All.Contains(t)).Select(t => $"Integrations:Dapr:Events: '{t}' is not an event type"));
}
