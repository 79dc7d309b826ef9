using Grpc.Core;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using G = Jiniac.Contracts.Grpc.Integrations.V1;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>jiniac.integrations.v1.WebhookService: webhook subscriptions, and the delivery log and dead letters of any sink.</summary>
public sealed class WebhookApiService(IGrainFactory grains, TimeProvider time) : G.WebhookService.WebhookServiceBase
{
    private IWebhookRegistryGrain Registry => grains.GetGrain<IWebhookRegistryGrain>(SinkKeys.Registry);

    public override async Task<G.Subscription> CreateSubscription(G.CreateSubscriptionRequest request, ServerCallContext context)
    {
        var id = string.IsNullOrEmpty(request.Id) ? "wh-" + Guid.NewGuid().ToString("N")[..12] : request.Id;
        var errors = new List<string>();
        if (!SafeName.IsValid(id))
        {
            errors.Add($"id: '{id}' is not a safe name (letters, digits, '-', '_', '.')");
        }

        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
        {
            errors.Add($"url: '{request.Url}' is not an http(s) URL without user info");
        }

        errors.AddRange(request.EventTypes.Where(t => !EventTypes.All.Contains(t)).Select(t => $"event_types: '{t}' is not an event type"));
        if (string.IsNullOrEmpty(request.Secret))
        {
            errors.Add("secret: required (the HMAC-SHA256 key of the signature)");
        }

        if (!string.IsNullOrEmpty(request.RunId) && !SafeName.IsValid(request.RunId))
        {
            errors.Add($"run_id: '{request.RunId}' is not a safe name");
        }

        if (request.MaxAttempts is < 0 or > 100)
        {
            errors.Add("max_attempts: must be between 0 (the host default) and 100");
        }

        if (errors.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", errors)));
        }

        var subscription = new WebhookSubscription
        {
            Id = id,
            Url = request.Url,
            EventTypes = [.. request.EventTypes],
            Secret = request.Secret,
            RunId = string.IsNullOrEmpty(request.RunId) ? null : request.RunId,
            MaxAttempts = request.MaxAttempts,
            Created = time.GetUtcNow(),
            FromNow = request.FromNow,
        };
        if (await Registry.CreateAsync(subscription) is { } refused)
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, refused));
        }

        // Existing runs: the new subscriber catches up on their journals (from the start, unless from_now).
        foreach (var run in subscription.RunId is { } only ? [only] : await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
        {
            await grains.GetGrain<IRunSinksGrain>(run).NotifyAsync();
        }

        return ToProto(subscription);
    }

    public override async Task<G.ListSubscriptionsResponse> ListSubscriptions(G.ListSubscriptionsRequest request, ServerCallContext context)
    {
        var response = new G.ListSubscriptionsResponse();
        foreach (var s in await Registry.ListAsync())
        {
            response.Subscriptions.Add(ToProto(s));
        }

        if (!string.IsNullOrEmpty(request.RunId))
        {
            CheckRun(request.RunId);
            foreach (var hook in (await grains.GetGrain<IRunGrain>(request.RunId).GetSpecAsync())?.Integrations?.Webhooks ?? [])
            {
                response.Subscriptions.Add(new G.Subscription
                {
                    Id = SinkCatalog.PipelinePrefix + hook.Name,
                    Url = hook.Url,
                    EventTypes = { hook.Events },
                    RunId = request.RunId,
                    MaxAttempts = hook.MaxAttempts,
                    Origin = "pipeline",
                });
            }
        }

        return response;
    }

    public override async Task<G.DeleteSubscriptionResponse> DeleteSubscription(G.DeleteSubscriptionRequest request, ServerCallContext context)
    {
        var deleted = await Registry.DeleteAsync(request.Id);
        return deleted ? new G.DeleteSubscriptionResponse { Deleted = true } : throw new RpcException(new Status(StatusCode.NotFound, $"no subscription '{request.Id}'"));
    }

    public override async Task<G.ListDeliveriesResponse> ListDeliveries(G.ListDeliveriesRequest request, ServerCallContext context)
    {
        var response = new G.ListDeliveriesResponse();
        var all = new List<(string Run, DeliveryRecord Record)>();
        foreach (var (run, status) in await StatusesAsync(request))
        {
            all.AddRange(status.Log.Select(r => (run, r)));
        }

        foreach (var (run, r) in all.OrderByDescending(x => x.Record.At).ThenByDescending(x => x.Record.Cursor).Take(Limit(request)))
        {
            response.Deliveries.Add(new G.Delivery
            {
                EventId = r.EventId, RunId = run, Cursor = r.Cursor, EventType = r.Type, Attempt = r.Attempt, Ok = r.Ok,
                StatusCode = r.StatusCode, Error = r.Error ?? "", At = r.At.UtcDateTime.ToString("O"),
            });
        }

        return response;
    }

    public override async Task<G.ListDeadLettersResponse> ListDeadLetters(G.ListDeliveriesRequest request, ServerCallContext context)
    {
        var response = new G.ListDeadLettersResponse();
        var all = new List<(string Run, DeadLetterRecord Record)>();
        foreach (var (run, status) in await StatusesAsync(request))
        {
            all.AddRange(status.DeadLetters.Select(r => (run, r)));
        }

        foreach (var (run, r) in all.OrderByDescending(x => x.Record.At).ThenByDescending(x => x.Record.Cursor).Take(Limit(request)))
        {
            response.DeadLetters.Add(new G.DeadLetter
            {
                EventId = r.EventId, RunId = run, Cursor = r.Cursor, EventType = r.Type, Attempts = r.Attempts, LastError = r.LastError, At = r.At.UtcDateTime.ToString("O"),
            });
        }

        return response;
    }

    public override async Task<G.ResendDeadLettersResponse> ResendDeadLetters(G.ResendDeadLettersRequest request, ServerCallContext context)
    {
        var resent = 0;
        foreach (var (run, sink) in await SinksAsync(request.SubscriptionId, request.RunId))
        {
            resent += await sink.ResendDeadLettersAsync([.. request.EventIds]);
        }

        return new G.ResendDeadLettersResponse { Resent = resent };
    }

    private async Task<List<(string Run, SinkStatus Status)>> StatusesAsync(G.ListDeliveriesRequest request)
    {
        var result = new List<(string, SinkStatus)>();
        foreach (var (run, sink) in await SinksAsync(request.SubscriptionId, request.RunId))
        {
            result.Add((run, await sink.GetStatusAsync()));
        }

        return result;
    }

    /// <summary>An API subscription's id is its sink id after "webhook:"; "rabbitmq", "dapr" and "pipeline:NAME" name the others.</summary>
    private async Task<List<(string Run, IEventSinkGrain Sink)>> SinksAsync(string subscriptionId, string runId)
    {
        if (string.IsNullOrEmpty(subscriptionId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "subscription_id: required"));
        }

        var sink = subscriptionId is SinkCatalog.RabbitMq or SinkCatalog.Dapr || subscriptionId.StartsWith(SinkCatalog.PipelinePrefix, StringComparison.Ordinal)
            ? subscriptionId
            : SinkCatalog.WebhookPrefix + subscriptionId;
        IReadOnlyList<string> runs;
        if (string.IsNullOrEmpty(runId))
        {
            runs = await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync();
        }
        else
        {
            CheckRun(runId);
            runs = [runId];
        }

        return [.. runs.Select(run => (run, grains.GetGrain<IEventSinkGrain>(SinkKeys.Of(sink, run))))];
    }

    private static int Limit(G.ListDeliveriesRequest request) => request.Limit > 0 ? request.Limit : 100;

    private static void CheckRun(string runId)
    {
        if (!SafeName.IsValid(runId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"run_id: '{runId}' is not a safe name"));
        }
    }

    private static G.Subscription ToProto(WebhookSubscription s) => new()
    {
        Id = s.Id,
        Url = s.Url,
        EventTypes = { s.EventTypes },
        RunId = s.RunId ?? "",
        MaxAttempts = s.MaxAttempts,
        Created = s.Created.UtcDateTime.ToString("O"),
        Origin = "api",
        FromNow = s.FromNow,
    };
}
