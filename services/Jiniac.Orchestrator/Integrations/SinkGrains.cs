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

    /// <summary>
    /// Takes these dead letters (by event id; none named: all of them) out of the list and delivers them again with fresh
    /// attempts, ahead of the journal; one that fails its max attempts again is dead-lettered again. Returns how many.
    /// </summary>
    Task<int> ResendDeadLettersAsync(IReadOnlyList<string> eventIds);
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

    public async Task<int> ResendDeadLettersAsync(IReadOnlyList<string> eventIds)
    {
        var s = state.State;
        var chosen = s.DeadLetters.Where(d => eventIds.Count == 0 || eventIds.Contains(d.EventId, StringComparer.Ordinal)).ToList();
        if (chosen.Count == 0)
        {
            return 0;
        }

        s.DeadLetters.RemoveAll(chosen.Contains);
        s.Resend = [.. s.Resend.Concat(chosen.Select(d => d.Cursor)).Distinct().Order()];
        await state.WriteStateAsync();
        await PokeAsync(); // a back-off in progress is still waited out: the resend goes with the next attempt
        return chosen.Count;
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

        // Re-sent dead letters first: the journal passed them over once already, so they cannot keep its order anyway.
        while (s.Resend.Count > 0 && !cancellationToken.IsCancellationRequested)
        {
            var entry = (await journal.ReadAsync(s.Resend[0], 1)).FirstOrDefault();
            if (entry is null || !target.Wants(entry.Type, entry.Timestamp))
            {
                s.Resend.RemoveAt(0); // the subscription no longer wants it
                await state.WriteStateAsync(cancellationToken);
                continue;
            }

            var e = new SinkEvent(runId, entry.Sequence, entry.Type, entry.Stage, entry.Timestamp, entry.Json);
            if (!await TryDeliverAsync(sinkId, target, e, s.ResendFailures + 1, n => s.ResendFailures = n, cancellationToken))
            {
                return;
            }

            s.Resend.RemoveAt(0);
            (s.ResendFailures, s.NextAttempt) = (0, null);
            await state.WriteStateAsync(cancellationToken);
        }

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
                if (!await TryDeliverAsync(sinkId, target, e, s.Failures + 1, n => s.Failures = n, cancellationToken))
                {
                    return;
                }

                (s.Cursor, s.Failures, s.NextAttempt) = (e.Cursor + 1, 0, null);
                await state.WriteStateAsync(cancellationToken);
            }

            if (skipped)
            {
                await state.WriteStateAsync(cancellationToken);
            }
        }
    }

    /// <summary>One attempt on <paramref name="e"/>; after a failure that is not its last, the back-off is persisted and scheduled.</summary>
    /// <returns>true: done with the entry (delivered, or dead-lettered after its last attempt); false: a retry waits.</returns>
    private async Task<bool> TryDeliverAsync(string sinkId, SinkTarget target, SinkEvent e, int attempt, Action<int> recordFailures, CancellationToken cancellationToken)
    {
        var error = await AttemptAsync(target, e, attempt, cancellationToken);
        if (error is null)
        {
            return true;
        }

        if (attempt >= target.MaxAttempts)
        {
            DeadLetter(sinkId, e, attempt, error);
            return true;
        }

        var wait = Delivery.BackoffAfter(attempt);
        Log.SinkDeliveryFailed(logger, sinkId, e.EventId, attempt, wait, error);
        recordFailures(attempt);
        state.State.NextAttempt = time.GetUtcNow() + wait;
        await state.WriteStateAsync(cancellationToken);
        Schedule(wait);
        return false;
    }

    /// <returns>null when delivered, else the error (either way the attempt is in the delivery log).</returns>
    private async Task<string?> AttemptAsync(SinkTarget target, SinkEvent e, int attempt, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Delivery.Timeout);
        try
        {
            var status = await target.Sink.DeliverAsync(e, deadline.Token);
            AddLog(new DeliveryRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempt = attempt, Ok = true, StatusCode = status, At = time.GetUtcNow() });
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = ex is OperationCanceledException ? $"no answer within {Delivery.Timeout.TotalSeconds:0.#} s" : ex.Message;
            var code = ex is SinkDeliveryException sde ? sde.StatusCode : 0;
            AddLog(new DeliveryRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempt = attempt, Ok = false, StatusCode = code, Error = error, At = time.GetUtcNow() });
            return error;
        }
    }

    private void DeadLetter(string sinkId, SinkEvent e, int attempts, string error)
    {
        Log.SinkDeadLettered(logger, sinkId, e.EventId, e.Type, attempts, error);
        state.State.DeadLetters.Add(new DeadLetterRecord { EventId = e.EventId, Cursor = e.Cursor, Type = e.Type, Attempts = attempts, LastError = error, At = time.GetUtcNow() });
        Trim(state.State.DeadLetters);
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
