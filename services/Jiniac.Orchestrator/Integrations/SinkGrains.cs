using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>Key: run id. Told of every journal append; tells each sink of the run to catch up. Never waits for a delivery.</summary>
public interface IRunSinksGrain : IGrainWithStringKey
{
    [OneWay]
    Task NotifyAsync();
}

/// <summary>Key: "SINK|RUN". One sink following one run's journal from its persisted cursor.</summary>
public interface IEventSinkGrain : IGrainWithStringKey
{
    /// <summary>There may be new entries: deliver them now, unless a retry is waiting for its back-off.</summary>
    [OneWay]
    Task PokeAsync();

    [AlwaysInterleave]
    Task<SinkStatus> GetStatusAsync();
}

/// <summary>Key: "all". The webhook subscriptions made through the API.</summary>
public interface IWebhookRegistryGrain : IGrainWithStringKey
{
    /// <returns>null, or why it was refused.</returns>
    Task<string?> CreateAsync(WebhookSubscription subscription);

    Task<bool> DeleteAsync(string id);

    [AlwaysInterleave]
    Task<IReadOnlyList<WebhookSubscription>> ListAsync();
}

public static class SinkKeys
{
    public const string Registry = "all";

    public static string Of(string sinkId, string runId) => $"{sinkId}|{runId}";

    public static (string Sink, string Run) Parse(string key)
    {
        var bar = key.LastIndexOf('|');
        return (key[..bar], key[(bar + 1)..]);
    }
}

public sealed class RunSinksGrain(SinkCatalog catalog) : Grain, IRunSinksGrain
{
    // A run's pipeline never changes once submitted: its webhooks are read once, not copied out of the run grain per event.
    private IReadOnlyList<string>? _pipelineSinks;

    public async Task NotifyAsync()
    {
        var runId = this.GetPrimaryKeyString();
        _pipelineSinks ??= await catalog.PipelineSinkIdsAsync(runId);
        foreach (var sink in (await catalog.HostAndApiSinkIdsAsync(runId)).Concat(_pipelineSinks ?? []))
        {
            await GrainFactory.GetGrain<IEventSinkGrain>(SinkKeys.Of(sink, runId)).PokeAsync();
        }
    }
}

/// <summary>
/// At-least-once delivery of one run's journal to one sink, in journal order. The cursor moves past an entry only once
/// it was delivered (persisted after each delivery, so a crash repeats at most the entry in flight), skipped by the
/// sink's filter, or dead-lettered after its max attempts; failures wait an exponential back-off on a grain timer.
/// All of it runs on this grain's timer, so the run that appends to the journal never waits for a receiver.
/// </summary>
public sealed class EventSinkGrain(
    [PersistentState("sink", OrchestratorStorage.Name)] IPersistentState<EventSinkState> state,
    SinkCatalog catalog,
    IOptions<IntegrationsOptions> options,
    TimeProvider time,
    ILogger<EventSinkGrain> logger) : Grain, IEventSinkGrain
{
    private const int Batch = 100;
    private IGrainTimer? _timer;
    private bool _scheduled;

    private DeliveryOptions Delivery => options.Value.Delivery;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // KeepAlive: a retry waiting out its back-off must not be lost to idle deactivation.
        _timer = this.RegisterGrainTimer(PumpAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        if (state.State.NextAttempt is { } next)
        {
            Schedule(next - time.GetUtcNow());
        }

        return Task.CompletedTask;
    }

    public Task PokeAsync()
    {
        if (!_scheduled)
        {
            Schedule(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public Task<SinkStatus> GetStatusAsync()
    {
        var s = state.State;
        return Task.FromResult(new SinkStatus(s.Cursor, s.Failures, s.NextAttempt, [.. s.Log], [.. s.DeadLetters]));
    }

    private void Schedule(TimeSpan due)
    {
        _scheduled = true;
        _timer!.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        _scheduled = false;
        var (sinkId, runId) = SinkKeys.Parse(this.GetPrimaryKeyString());
        var target = await catalog.ResolveAsync(sinkId, runId);
        if (target is null)
        {
            return; // the subscription was deleted or the sink turned off: nothing to deliver to
        }

        var journal = GrainFactory.GetGrain<IJournalGrain>(runId);
        var s = state.State;
        while (!cancellationToken.IsCancellationRequested)
        {
            var entries = await journal.ReadAsync(s.Cursor, Batch);
            if (entries.Count == 0)
            {
                return;
            }

            var skipped = false;
            foreach (var entry in entries)
            {
                if (!target.Wants(entry.Type, entry.Timestamp))
                {
                    s.Cursor = entry.Sequence + 1;
                    skipped = true;
                    continue;
                }

                var e = new SinkEvent(runId, entry.Sequence, entry.Type, entry.Stage, entry.Timestamp, entry.Json);
                var attempt = s.Failures + 1;
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(Delivery.Timeout);
                try
                {
                    var status = await target.Sink.DeliverAsync(e, deadline.Token);
                    AddLog(new DeliveryRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempt = attempt, Ok = true, StatusCode = status, At = time.GetUtcNow() });
                    (s.Cursor, s.Failures, s.NextAttempt) = (e.Cursor + 1, 0, null);
                    await state.WriteStateAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    var error = ex is OperationCanceledException ? $"no answer within {Delivery.Timeout.TotalSeconds:0.#} s" : ex.Message;
                    var code = ex is SinkDeliveryException sde ? sde.StatusCode : 0;
                    AddLog(new DeliveryRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempt = attempt, Ok = false, StatusCode = code, Error = error, At = time.GetUtcNow() });
                    if (attempt >= target.MaxAttempts)
                    {
                        Log.SinkDeadLettered(logger, sinkId, e.EventId, e.Type, attempt, error);
                        s.DeadLetters.Add(new DeadLetterRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempts = attempt, LastError = error, At = time.GetUtcNow() });
                        Trim(s.DeadLetters);
                        (s.Cursor, s.Failures, s.NextAttempt) = (e.Cursor + 1, 0, null);
                        await state.WriteStateAsync(cancellationToken);
                        continue;
                    }

                    var wait = Delivery.BackoffAfter(attempt);
                    Log.SinkDeliveryFailed(logger, sinkId, e.EventId, attempt, wait, error);
                    (s.Failures, s.NextAttempt) = (attempt, time.GetUtcNow() + wait);
                    await state.WriteStateAsync(cancellationToken);
                    Schedule(wait);
                    return;
                }
            }

            if (skipped)
            {
                await state.WriteStateAsync(cancellationToken);
            }
        }
    }

    private void AddLog(DeliveryRecord record)
    {
        state.State.Log.Add(record);
        Trim(state.State.Log);
    }

    private void Trim<T>(List<T> list)
    {
        var excess = list.Count - Math.Max(1, Delivery.LogSize);
        if (excess > 0)
        {
            list.RemoveRange(0, excess);
        }
    }
}

public sealed class WebhookRegistryGrain(
    [PersistentState("webhooks", OrchestratorStorage.Name)] IPersistentState<WebhookRegistryState> state) : Grain, IWebhookRegistryGrain
{
    public async Task<string?> CreateAsync(WebhookSubscription subscription)
    {
        if (state.State.Subscriptions.Any(s => s.Id == subscription.Id))
        {
            return $"a subscription '{subscription.Id}' exists already";
        }

        state.State.Subscriptions.Add(subscription);
        await state.WriteStateAsync();
        return null;
    }

    public async Task<bool> DeleteAsync(string id)
    {
        if (state.State.Subscriptions.RemoveAll(s => s.Id == id) == 0)
        {
            return false;
        }

        await state.WriteStateAsync();
        return true;
    }

    public Task<IReadOnlyList<WebhookSubscription>> ListAsync() => Task.FromResult<IReadOnlyList<WebhookSubscription>>([.. state.State.Subscriptions]);
}
