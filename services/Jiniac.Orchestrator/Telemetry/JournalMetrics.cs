using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Jiniac.Hosting.Telemetry;
using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Telemetry;

/// <summary>
/// The platform's metrics, read from the runs' journals (the log every event of a run lands in, whichever service
/// sent it): training steps and tokens, steps/s and tokens/s, loss, stage and phase durations, alerts. Entries
/// journalled before this process started set the gauges and the stages' start times but are not counted again,
/// so a restart does not replay history into the counters.
/// </summary>
internal sealed partial class JournalMetrics : BackgroundService
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly TimeSpan _period;
    private readonly ILogger<JournalMetrics> _logger;
    private readonly DateTimeOffset _started;
    private readonly Dictionary<string, long> _cursors = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Run, string Stage), StageClock> _clocks = [];
    private readonly ConcurrentDictionary<(string Run, string Stage), Training> _training = new();
    private readonly Counter<long> _steps;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _alerts;
    private readonly Histogram<double> _stageDuration;
    private readonly Histogram<double> _phaseDuration;

    public JournalMetrics(IGrainFactory grains, IMeterFactory meters, TimeProvider time, IOptions<TelemetryOptions> options, ILogger<JournalMetrics> logger)
    {
        _grains = grains;
        _time = time;
        _period = options.Value.JournalPollInterval;
        _logger = logger;
        _started = time.GetUtcNow();
        var meter = meters.Create(JiniacTelemetry.MeterName);
        _steps = meter.CreateCounter<long>("jiniac.training.steps", description: "Training steps taken (as the trainer reported them).");
        _tokens = meter.CreateCounter<long>("jiniac.training.tokens", description: "Tokens trained on.");
        _alerts = meter.CreateCounter<long>("jiniac.alerts", description: "Alerts raised, by kind and severity.");
        // Stages take minutes to days: the default buckets (up to 10 000) are sized for milliseconds.
        var buckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 10, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800, 604_800] };
        _stageDuration = meter.CreateHistogram("jiniac.stage.duration", "s", "Wall time of a stage from its start (Preparing) to Completed, Failed or Cancelled.", tags: null, advice: buckets);
        _phaseDuration = meter.CreateHistogram("jiniac.stage.phase.duration", "s", "Wall time a stage spent in one status (Preparing, Training, Evaluating, ...).", tags: null, advice: buckets);
        meter.CreateObservableGauge("jiniac.training.tokens_per_second", () => Observe(t => t.TokensPerSecond), description: "Training throughput the trainer last reported.");
        meter.CreateObservableGauge("jiniac.training.steps_per_second", () => Observe(t => t.StepsPerSecond), description: "Training steps per second (the trainer's tokens/s over its tokens per step).");
        meter.CreateObservableGauge("jiniac.training.loss", () => Observe(t => t.Loss), description: "The training loss last reported.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_period, _time);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPollFailed(_logger, e); // a silo shutting down, a grain deactivating: the next tick reads on
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task PollAsync(CancellationToken cancellationToken)
    {
        foreach (var runId in await _grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
        {
            var journal = _grains.GetGrain<IJournalGrain>(runId);
            var cursor = _cursors.GetValueOrDefault(runId);
            while (!cancellationToken.IsCancellationRequested)
            {
                var entries = await journal.ReadAsync(cursor, 500);
                if (entries.Count == 0)
                {
                    break;
                }

                foreach (var entry in entries)
                {
                    Apply(runId, entry, count: entry.Timestamp >= _started);
                    cursor = entry.Sequence + 1;
                }
            }

            _cursors[runId] = cursor;
        }
    }

    private void Apply(string runId, JournalEntryView entry, bool count)
    {
        if (entry.Type is not ("TrainingProgressed" or "StageStatusChanged" or "AlertRaised" or "TrainingStarted"))
        {
            return;
        }

        using var doc = JsonDocument.Parse(entry.Json);
        var root = doc.RootElement;
        var stage = entry.Stage ?? (root.TryGetProperty("stage", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null) ?? "";
        var tags = JiniacTelemetry.Tags(runId, stage);
        switch (entry.Type)
        {
            case "TrainingProgressed":
                var step = root.GetProperty("step").GetInt64();
                var tokens = root.GetProperty("tokens").GetInt64();
                var tps = Number(root, "tokensPerSecond");
                var loss = Number(root, "loss");
                var key = (runId, stage);
                var last = _training.GetValueOrDefault(key);
                var stepsPerSecond = last?.StepsPerSecond ?? 0;
                // After a rollback or a resume the trainer goes on from an earlier step: the steps trained since count
                // again. The tokens at that step are taken as proportional to steps (the batch does not change).
                var (fromStep, fromTokens) = last is null ? (0L, 0L)
                    : last.ResumedFrom is { } resumed ? (resumed, step > 0 ? tokens * resumed / step : 0)
                    : (last.Step, last.Tokens);
                if (step > fromStep && tokens > fromTokens)
                {
                    if (count)
                    {
                        _steps.Add(step - fromStep, tags);
                        _tokens.Add(tokens - fromTokens, tags);
                    }

                    if (last is not null)
                    {
                        stepsPerSecond = tps * (step - fromStep) / (tokens - fromTokens);
                    }
                }

                _training[key] = new Training(step, tokens, tps, stepsPerSecond, loss, null);
                break;

            case "TrainingStarted" when root.TryGetProperty("resumedFromStep", out var r) && r.ValueKind == JsonValueKind.Number:
                Resume(runId, stage, r.GetInt64());
                break;

            case "StageStatusChanged":
                var to = root.GetProperty("to").GetString() ?? "";
                var clock = _clocks.TryGetValue((runId, stage), out var c) ? c : null;
                if (clock is not null && count)
                {
                    _phaseDuration.Record((entry.Timestamp - clock.Since).TotalSeconds, Phase(runId, stage, clock.Status));
                }

                var start = clock?.Start ?? entry.Timestamp;
                if (to is "Completed" or "Failed" or "Cancelled")
                {
                    if (count)
                    {
                        var t = tags;
                        t.Add("status", to);
                        _stageDuration.Record((entry.Timestamp - start).TotalSeconds, t);
                    }

                    _clocks.Remove((runId, stage));
                }
                else
                {
                    // A replay takes a finished stage back to work: its duration counts from the replay.
                    _clocks[(runId, stage)] = new StageClock(clock is null ? entry.Timestamp : start, to, entry.Timestamp);
                }

                break;

            case "AlertRaised":
                if (root.GetProperty("kind").GetString() == Contracts.TrainingAlertKinds.RolledBack && root.TryGetProperty("step", out var kept) && kept.ValueKind == JsonValueKind.Number)
                {
                    Resume(runId, stage, kept.GetInt64());
                }

                if (!count)
                {
                    break;
                }

                _alerts.Add(1, new TagList
                {
                    { "run", runId }, { "stage", stage },
                    { "kind", root.GetProperty("kind").GetString() }, { "severity", root.GetProperty("severity").GetString() },
                });
                break;
        }
    }

    private void Resume(string runId, string stage, long step)
    {
        if (_training.TryGetValue((runId, stage), out var last))
        {
            _training[(runId, stage)] = last with { ResumedFrom = step };
        }
    }

    private static TagList Phase(string runId, string stage, string phase)
    {
        var tags = JiniacTelemetry.Tags(runId, stage);
        tags.Add("phase", phase);
        return tags;
    }

    // Non-finite numbers are journalled as "NaN"/"Infinity" strings (OrchestratorJson allows named literals).
    private static double Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : double.NaN;

    private IEnumerable<Measurement<double>> Observe(Func<Training, double> value)
    {
        foreach (var ((run, stage), training) in _training)
        {
            var v = value(training);
            if (double.IsFinite(v))
            {
                yield return new Measurement<double>(v, JiniacTelemetry.Tags(run, stage));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the journals for metrics failed; trying again at the next tick")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    /// <param name="ResumedFrom">The step a rollback or resume goes on from, until the next progress report.</param>
    private sealed record Training(long Step, long Tokens, double TokensPerSecond, double StepsPerSecond, double Loss, long? ResumedFrom);

    private sealed record StageClock(DateTimeOffset Start, string Status, DateTimeOffset Since);
}
