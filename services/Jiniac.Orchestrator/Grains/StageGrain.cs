using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Bus;
using Jiniac.Hosting.Telemetry;
using Jiniac.Orchestrator.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Grains;

/// <summary>
/// The process manager of one stage: Pending → Preparing (ingest + tokenize) → Ready → Training →
/// Evaluating → (Gated →) Publishing → Completed, or Failed (with a reason) / Cancelled. It changes state only in
/// answer to a command or an event, persists before it sends anything onward, and ignores what it has
/// already applied. Unfinished work is re-issued by <see cref="ResumeAsync"/> (host start, reminder).
/// </summary>
public sealed partial class StageGrain(
    [PersistentState("stage", OrchestratorStorage.Name)] IPersistentState<StageState> state,
    ICommandSender commands,
    MassTransit.IBus bus,
    TimeProvider time,
    IOptions<OrchestratorOptions> options,
    Journal.IShardLogStore shardLog,
    ILogger<StageGrain> logger) : Grain, IStageGrain, IRemindable
{
    private const string ReissueReminder = "reissue";

    private StageState S => state.State;
    private StageContext Context => S.Context ?? throw new InvalidOperationException($"stage {this.GetPrimaryKeyString()} was never prepared");
    private string RunId => Context.RunId;
    private string Name => Context.Spec.Name;
    private IRunGrain Run => GrainFactory.GetGrain<IRunGrain>(RunId);

    public async Task PrepareAsync(StageContext context)
    {
        if (S.Context is not null && S.Status != StageStatus.Pending)
        {
            return;
        }

        S.Context = context;
        foreach (var source in context.Spec.Sources)
        {
            S.Sources.TryAdd(source.Name, new SourceProgress());
        }

        await TransitionAsync(StageStatus.Preparing, null);
        await IssueIngestAsync();
    }

    public async Task SetTokenizerAsync(TokenizerInfo tokenizer)
    {
        if (S.Context is null || S.Context.Tokenizer == tokenizer)
        {
            return;
        }

        S.Context = S.Context with { Tokenizer = tokenizer };
        await SaveAsync();
        if (S.Status == StageStatus.Preparing)
        {
            await IssueTokenizeAsync();
            await CheckReadyAsync();
        }
    }

    public async Task StartTrainingAsync(string? initFrom)
    {
        if (S.Status == StageStatus.Training)
        {
            await SendLaunchAsync();
            return;
        }

        if (S.Status != StageStatus.Ready)
        {
            return;
        }

        S.InitFrom = initFrom;
        await TransitionAsync(StageStatus.Training, null);
        await SendLaunchAsync();
    }

    public async Task PokeAsync()
    {
        if (S.Context is not null && S.PendingEvaluations.Count > 0)
        {
            await IssueEvaluationsAsync();
        }
    }

    public async Task ResumeAsync()
    {
        if (S.Context is null || !options.Value.IssueWork)
        {
            return;
        }

        Log.StageResume(logger, this.GetPrimaryKeyString(), S.Status);
        switch (S.Status)
        {
            case StageStatus.Preparing:
                await IssueIngestAsync();
                await IssueTokenizeAsync();
                await CheckReadyAsync();
                break;
            case StageStatus.Ready:
                Run.OnStageChangedAsync(Context.Index, StageStatus.Ready).Ignore();
                break;
            case StageStatus.Training:
                await SendLaunchAsync();
                break;
            case StageStatus.Publishing:
                await SendPublishAsync();
                break;
        }

        await IssueEvaluationsAsync(resend: true);
    }

    public async Task CancelAsync(string reason)
    {
        if (S.Context is null || S.Status.IsTerminal())
        {
            return;
        }

        var wasTraining = S.Status == StageStatus.Training;
        await TransitionAsync(StageStatus.Cancelled, reason);
        if (wasTraining)
        {
            await commands.SendAsync(new StopTraining { RunId = RunId, Stage = Name, Attempt = S.Attempt, Reason = reason }, default);
        }
    }

    public Task OnShardIngestedAsync(ShardIngested message) => OnShardsIngestedAsync([message]);

    public async Task OnSourceIngestedAsync(SourceIngested message)
    {
        if (S.Context is null || S.Status != StageStatus.Preparing || !S.Sources.TryGetValue(message.Source, out var source) || source.Done)
        {
            return;
        }

        source.Done = true;
        source.RecordsIn = message.RecordsIn;
        source.RecordsOut = message.RecordsOut;
        source.Duplicates = message.Duplicates;
        source.NearDuplicates = message.NearDuplicates;
        source.Quarantined = message.Quarantined;
        source.BytesOut = message.BytesOut;
        source.ReportBlob = message.ReportBlob;
        var added = new List<StageShard>();
        foreach (var shard in message.Shards)
        {
            if (AddShard(message.Source, shard))
            {
                added.Add(Shards[shard.ShardKey]);
            }
        }

        await AppendShardsAsync(added);
        await SaveAsync();
        if (Context.Tokenizer is not null)
        {
            await SendTokenizeAllAsync(added);
        }

        if (S.Sources.Values.All(s => s.Done))
        {
            Run.OnStageIngestedAsync(Context.Index).Ignore();
        }
        else
        {
            await IssueIngestAsync();
        }

        await CheckReadyAsync();
    }

    public async Task OnRecordsQuarantinedAsync(RecordsQuarantined message)
    {
        if (S.Context is null || !S.Sources.TryGetValue(message.Source, out var source) || source.QuarantineBlob is not null)
        {
            return;
        }

        source.QuarantineBlob = message.QuarantineBlob;
        source.QuarantineReasons = new Dictionary<string, long>(message.Reasons);
        await SaveAsync();
    }

    public async Task OnIngestFailedAsync(IngestFailed message)
    {
        // An earlier attempt's failure, delivered late, says nothing about the ingest this attempt asked for.
        if (S.Status == StageStatus.Preparing && message.Attempt == S.Attempt)
        {
            await TransitionAsync(StageStatus.Failed, $"ingest of source '{message.Source}' failed: {message.Reason}");
        }
    }

    public Task OnShardsTokenizedAsync(ShardsTokenized message) => OnShardsTokenizedAsync([message]);

    public async Task OnShardTokenizeFailedAsync(ShardTokenizeFailed message)
    {
        if (!Shards.TryGetValue(message.ShardKey, out var shard) || shard.Prefix is not null || S.Status != StageStatus.Preparing)
        {
            return;
        }

        shard.Error = message.Reason;
        await AppendShardsAsync([shard]);
        await TransitionAsync(StageStatus.Failed, $"shard {message.ShardKey[..12]} ({shard.Source}) could not be tokenized: {message.Reason}");
    }

    public async Task OnTrainingStartedAsync(TrainingStarted message)
    {
        if (!IsCurrentTraining(message.Attempt))
        {
            return;
        }

        S.JobId = message.JobId;
        S.TotalSteps = message.TotalSteps;
        S.Restarts = message.Restart;
        await SaveAsync();
    }

    public async Task OnTrainingProgressedAsync(TrainingProgressed message)
    {
        if (!IsCurrentTraining(message.Attempt) || message.Step < S.Step)
        {
            return;
        }

        S.Step = message.Step;
        S.TotalSteps = message.TotalSteps;
        S.Tokens = message.Tokens;
        S.Loss = message.Loss;
        S.LearningRate = message.LearningRate;
        S.TokensPerSecond = message.TokensPerSecond;
        await SaveAsync();
    }

    public async Task OnCheckpointSavedAsync(CheckpointSaved message)
    {
        if (S.Context is null || S.Checkpoints.Exists(c => c.Step == message.Step) || IsDiscarded(message))
        {
            return;
        }

        S.Checkpoints.Add(new CheckpointSummary(message.Step, message.Tokens, message.Loss, message.Folder));
        S.Checkpoints.Sort((a, b) => a.Step.CompareTo(b.Step));
        RememberTrace(message.Step);
        var every = Context.Evaluation.EveryNCheckpoints;
        var evaluate = ((every > 0 && S.Checkpoints.Count % every == 0) || SuitesFor(message.Step).Count > 0) && S.Status == StageStatus.Training;
        if (evaluate)
        {
            S.PendingEvaluations.Add(message.Step);
        }

        // One write for the checkpoint and its pending evaluation: the state is written whole, and it holds every shard.
        await SaveAsync();
        if (evaluate)
        {
            await IssueEvaluationsAsync();
        }

        await PruneAsync();
    }

    public async Task OnTrainingCompletedAsync(TrainingCompleted message)
    {
        if (!IsCurrentTraining(message.Attempt))
        {
            return;
        }

        await RegisterUnheardCheckpointsAsync(message);
        var final = S.Checkpoints.Find(c => c.Step == message.FinalStep)
            ?? new CheckpointSummary(message.FinalStep, message.Tokens, message.FinalLoss, message.CheckpointFolder);
        if (!S.Checkpoints.Contains(final))
        {
            S.Checkpoints.Add(final);
            S.Checkpoints.Sort((a, b) => a.Step.CompareTo(b.Step));
            RememberTrace(final.Step);
        }

        S.Final = final;
        S.Step = message.FinalStep;
        S.Tokens = message.Tokens;
        S.Loss = message.FinalLoss;
        // The final checkpoint may have been evaluated already, as it was saved (every-N suites, per-checkpoint
        // evaluation), before TrainingCompleted came: evaluated again only when being final (or best) adds suites.
        var evaluatedAlready = S.Evaluations.ContainsKey(final.Step) && !S.PendingEvaluations.Contains(final.Step)
            && !Context.Evaluation.Suites.Any(s => s.When.StageEnd || s.When.Best);
        if (!evaluatedAlready)
        {
            S.PendingEvaluations.Add(final.Step);
        }

        if (BestStep() is { } best && best != final.Step && Context.Evaluation.Suites.Any(s => s.When.Best))
        {
            // The lowest-loss checkpoint gets the "best" suites too; evaluated beside the final one, holding nothing up.
            S.PendingEvaluations.Add(best);
            S.SentEvaluations.Remove(best);
        }

        await TransitionAsync(StageStatus.Evaluating, null);
        await IssueEvaluationsAsync();
        if (evaluatedAlready)
        {
            await AfterFinalEvaluationAsync(final.Step);
        }
    }

    /// <summary>
    /// The trainer's checkpoints still on disk whose CheckpointSaved has not come: on a broker it can be overtaken (held
    /// up in a redelivery while a silo fails over, say), and the stage would finish with a hole in its checkpoint list.
    /// They are registered from TrainingCompleted's list; the CheckpointSaved that comes later changes nothing. Not
    /// evaluated on their own: evaluation is decided as a checkpoint is saved during training, and that time is past.
    /// </summary>
    private async Task RegisterUnheardCheckpointsAsync(TrainingCompleted message)
    {
        var unheard = message.Checkpoints.Where(c => !S.Checkpoints.Exists(k => k.Step == c.Step) && !S.Pruned.Contains(c.Step)).ToList();
        foreach (var c in unheard)
        {
            await GrainFactory.GetGrain<ICheckpointGrain>(GrainKeys.Checkpoint(RunId, Name, c.Step)).RecordSavedAsync(new CheckpointSaved
            {
                RunId = RunId, Stage = Name, Attempt = message.Attempt, Step = c.Step, Tokens = c.Tokens, Loss = c.Loss, Folder = c.Folder,
            });
            S.Checkpoints.Add(new CheckpointSummary(c.Step, c.Tokens, c.Loss, c.Folder));
            RememberTrace(c.Step);
        }

        if (unheard.Count > 0)
        {
            S.Checkpoints.Sort((a, b) => a.Step.CompareTo(b.Step));
            Log.CheckpointsRegisteredAtCompletion(logger, RunId, Name, string.Join(", ", unheard.Select(c => c.Step)));
        }
    }

    public async Task OnTrainingFailedAsync(TrainingFailed message)
    {
        if (IsCurrentTraining(message.Attempt))
        {
            S.Restarts = message.Restarts;
            await TransitionAsync(StageStatus.Failed, $"training failed after {message.Restarts} restart(s): {message.Reason}");
        }
    }

    public async Task OnAlertRaisedAsync(AlertRaised message)
    {
        if (message.Kind != TrainingAlertKinds.RolledBack || message.Step is not { } kept || message.Attempt is not { } attempt || !IsCurrentTraining(attempt))
        {
            return;
        }

        // The checkpoints after the one rolled back to were moved out of the lineage (the trainer writes those
        // steps anew): they are no longer this stage's, to evaluate or report, and progress restarts from there.
        S.Checkpoints.RemoveAll(c => c.Step > kept);
        S.PendingEvaluations.RemoveWhere(step => step > kept);
        S.SentEvaluations.RemoveWhere(step => step > kept);
        S.Pruned.RemoveWhere(step => step > kept);
        foreach (var step in S.Evaluations.Keys.Where(step => step > kept).ToList())
        {
            S.Evaluations.Remove(step);
        }

        S.Step = Math.Min(S.Step, kept);
        await SaveAsync();
    }

    public async Task OnEvaluationCompletedAsync(EvaluationCompleted message)
    {
        if (S.Context is null || (S.Evaluations.ContainsKey(message.Step) && !S.PendingEvaluations.Contains(message.Step)))
        {
            return;
        }

        S.Evaluations[message.Step] = [.. message.Results];
        S.Metrics[message.Step] = GateCheck.WithDomainMetrics(message.Metrics, message.Results);
        S.Generations[message.Step] = [.. message.Generations];
        S.PendingEvaluations.Remove(message.Step);
        S.SentEvaluations.Remove(message.Step);
        await SaveAsync();
        await PruneAsync();
        if (S.Status == StageStatus.Evaluating && S.Final?.Step == message.Step)
        {
            await AfterFinalEvaluationAsync(message.Step);
        }
    }

    /// <summary>The final checkpoint's evaluation is in: its gates hold the stage, or it is released.</summary>
    private async Task AfterFinalEvaluationAsync(long step)
    {
        var failures = await CheckGatesAsync(step);
        if (failures.Count > 0)
        {
            await HoldAsync(step, failures);
            return;
        }

        await ReleaseAsync();
    }

    public async Task<ReplayResult> ApproveAsync(string reason)
    {
        if (S.Context is null || S.Status != StageStatus.Gated)
        {
            return new ReplayResult(S.Attempt, S.Status.ToString(), $"the stage is {S.Status}; only a stage held by a gate can be approved");
        }

        await JournalAsync("GateApproved", new { stage = Name, step = S.Final?.Step, gate = S.Reason, reason });
        await ReleaseAsync();
        return new ReplayResult(S.Attempt, S.Status.ToString(), null);
    }

    public Task<IReadOnlyList<EvaluationMetric>> GetFinalMetricsAsync() =>
        Task.FromResult<IReadOnlyList<EvaluationMetric>>(S.Final is { } final && S.Metrics.TryGetValue(final.Step, out var metrics) ? metrics : []);

    /// <summary>The final evaluation passed its gates (or an operator let it through): publish, or finish.</summary>
    private async Task ReleaseAsync()
    {
        if (Context.Publish is null)
        {
            await TransitionAsync(StageStatus.Completed, null);
        }
        else
        {
            await TransitionAsync(StageStatus.Publishing, null);
            await SendPublishAsync();
        }
    }

    private async Task<List<string>> CheckGatesAsync(long step)
    {
        var gates = Context.Evaluation.Gates;
        if (gates.Count == 0)
        {
            return [];
        }

        IReadOnlyList<EvaluationMetric> previous = [];
        if (Context.PreviousStage is { } before && gates.Any(g => g.MaxRegressionPercent is not null))
        {
            previous = await GrainFactory.GetGrain<IStageGrain>(GrainKeys.Stage(RunId, before)).GetFinalMetricsAsync();
        }

        return GateCheck.Failures(gates, S.Metrics.TryGetValue(step, out var metrics) ? metrics : [], previous, Context.PreviousStage);
    }

    private async Task HoldAsync(long step, List<string> failures)
    {
        var reason = $"gate failed on step {step}: {string.Join("; ", failures)}";
        await TransitionAsync(StageStatus.Gated, reason);
        await JournalAsync("StageGated", new { stage = Name, step, failures });
        // Persisted and journalled first; the alert is a notification, not state.
        await bus.Publish(new AlertRaised { RunId = RunId, Stage = Name, Severity = "warning", Kind = "gate-failed", Message = reason + $" — approve with `jiniac approve {RunId} {Name}` or replay the stage" });
    }

    /// <summary>The suites whose checkpoint policy picks this step (stage end and best are known once training completed).</summary>
    private List<EvaluationSuiteSpec> SuitesFor(long step)
    {
        var suites = new List<EvaluationSuiteSpec>();
        var best = S.Final is null ? null : BestStep();
        foreach (var suite in Context.Evaluation.Suites)
        {
            var policy = suite.When;
            if ((policy.EveryNSteps > 0 && step % policy.EveryNSteps == 0)
                || (policy.StageEnd && S.Final?.Step == step)
                || (policy.Best && best == step))
            {
                suites.Add(suite);
            }
        }

        return suites;
    }

    /// <summary>The stage's checkpoint with the lowest training loss (the earliest of equals).</summary>
    private long? BestStep()
    {
        CheckpointSummary? best = null;
        foreach (var c in S.Checkpoints)
        {
            if (double.IsFinite(c.Loss) && (best is null || c.Loss < best.Loss))
            {
                best = c;
            }
        }

        return best?.Step;
    }

    public async Task OnEvaluationFailedAsync(EvaluationFailed message)
    {
        if (S.Context is null || !S.PendingEvaluations.Remove(message.Step))
        {
            return;
        }

        S.SentEvaluations.Remove(message.Step);

        if (S.Status == StageStatus.Evaluating && S.Final?.Step == message.Step)
        {
            await TransitionAsync(StageStatus.Failed, $"evaluation of step {message.Step} failed: {message.Reason}");
        }
        else
        {
            await SaveAsync();
        }
    }

    public async Task OnModelPublishedAsync(ModelPublished message)
    {
        if (S.Context is null || S.Published.Exists(p => p.Revision == message.Revision && p.Step == message.Step))
        {
            return;
        }

        S.Published.Add(new PublishedSummary(message.Step, message.Repo, message.Revision, message.Folder, message.Created));
        if (S.Status == StageStatus.Publishing && S.Final?.Step == message.Step)
        {
            await TransitionAsync(StageStatus.Completed, null);
        }
        else
        {
            await SaveAsync();
        }
    }

    public async Task OnPublishFailedAsync(PublishFailed message)
    {
        if (S.Status == StageStatus.Publishing && S.Final?.Step == message.Step)
        {
            await TransitionAsync(StageStatus.Failed, $"publishing step {message.Step} failed: {message.Reason}");
        }
    }

    public Task<StageView> GetViewAsync() => Task.FromResult(BuildView());

    public Task<IReadOnlyList<EvalSet>?> GetEvalSetsAsync()
    {
        if (S.Context is null || !IsPrepared())
        {
            return Task.FromResult<IReadOnlyList<EvalSet>?>(null);
        }

        // Asked for on every checkpoint's evaluation; the table changes only while the stage prepares (AppendShardsAsync forgets this).
        _evalSets ??= BuildEvalSets();
        return Task.FromResult<IReadOnlyList<EvalSet>?>(_evalSets);
    }

    /// <summary>
    /// Each source's tokenized held-out shards in key order, sources of one domain together. One pass over the table
    /// (a pass per source was 10 million steps for 100 sources of 1,000 shards, most of a first evaluation's latency).
    /// </summary>
    private List<EvalSet> BuildEvalSets()
    {
        var bySource = new Dictionary<string, List<StageShard>>(StringComparer.Ordinal);
        foreach (var shard in Shards.Values)
        {
            if (shard.Split == SplitNames.Eval && shard.Prefix is not null)
            {
                if (!bySource.TryGetValue(shard.Source, out var list))
                {
                    bySource[shard.Source] = list = [];
                }

                list.Add(shard);
            }
        }

        var sets = new List<EvalSet>();
        foreach (var source in Context.Spec.Sources)
        {
            if (!bySource.TryGetValue(source.Name, out var shards))
            {
                continue;
            }

            shards.Sort((a, b) => StringComparer.Ordinal.Compare(a.Key, b.Key));
            var prefixes = shards.ConvertAll(s => s.Prefix!);
            var bytes = shards.Sum(s => s.TextBytes);

            // Sources that share a domain report together.
            var existing = sets.FindIndex(s => s.Domain == source.DomainName);
            if (existing >= 0)
            {
                var merged = sets[existing];
                sets[existing] = merged with { Prefixes = [.. merged.Prefixes, .. prefixes], TextBytes = merged.TextBytes + bytes };
            }
            else
            {
                sets.Add(new EvalSet { Domain = source.DomainName, Prefixes = prefixes, TextBytes = bytes });
            }
        }

        return sets;
    }

    public Task<IReadOnlyList<string>> GetTrainShardBlobsAsync()
    {
        var blobs = Shards.Values
            .Where(s => s.Split == SplitNames.Train)
            .OrderBy(s => s.Source, StringComparer.Ordinal).ThenBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => s.Blob)
            .ToList();
        return Task.FromResult<IReadOnlyList<string>>(blobs);
    }

    public Task<StageStatus> GetStatusAsync() => Task.FromResult(S.Status);

    public async Task ReceiveReminder(string reminderName, Orleans.Runtime.TickStatus status)
    {
        if (S.Context is null || !S.Status.IsActive())
        {
            var reminder = await this.GetReminder(ReissueReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        if (time.GetUtcNow() - S.LastActivity >= options.Value.ReissueAfter)
        {
            S.LastActivity = time.GetUtcNow();
            await SaveAsync();
            await ResumeAsync();
        }
    }

    private bool IsCurrentTraining(int attempt) => S.Context is not null && S.Status == StageStatus.Training && attempt == S.Attempt;

    private bool IsPrepared() =>
        Context.Tokenizer is not null
        && S.Sources.Count > 0 && S.Sources.Values.All(s => s.Done)
        && Shards.Values.All(s => s.Prefix is not null);

    private bool AddShard(string source, IngestedShard shard)
    {
        if (Shards.ContainsKey(shard.ShardKey))
        {
            return false;
        }

        Shards[shard.ShardKey] = new StageShard
        {
            Key = shard.ShardKey,
            Source = source,
            Split = shard.Split,
            Blob = shard.Blob,
            Records = shard.Records,
            TextBytes = shard.TextBytes,
        };
        return true;
    }

    private async Task CheckReadyAsync()
    {
        if (S.Status != StageStatus.Preparing || !IsPrepared())
        {
            return;
        }

        if (!Shards.Values.Any(s => s.Split == SplitNames.Train))
        {
            await TransitionAsync(StageStatus.Failed, "no training data: every record of every source was dropped, de-duplicated or quarantined");
            return;
        }

        await TransitionAsync(StageStatus.Ready, null);
    }

    private async Task IssueIngestAsync()
    {
        if (!options.Value.IssueWork)
        {
            return;
        }

        // One source at a time, in pipeline order, each told the dedup indexes of those before it: so
        // exact and near dedup cover the whole stage and the copy kept is the first in stage order,
        // whatever the timing (see Jiniac.Ingest's DedupIndex). The next is sent when one is ingested.
        var priors = new List<string>();
        foreach (var source in Context.Spec.Sources)
        {
            var prefix = $"runs/{RunId}/{Name}/ingest/{source.Name}";
            if (!S.Sources[source.Name].Done)
            {
                await commands.SendAsync(new IngestSource
                {
                    RunId = RunId,
                    Stage = Name,
                    Attempt = S.Attempt,
                    Source = source,
                    OutputPrefix = prefix,
                    PriorDedupIndexes = priors,
                }, default);
                break;
            }

            priors.Add($"{prefix}/dedup.bin");
        }
    }

    private async Task IssueTokenizeAsync()
    {
        if (Context.Tokenizer is null)
        {
            return;
        }

        await SendTokenizeAllAsync(Shards.Values.Where(shard => shard.Prefix is null && shard.Error is null).ToList());
    }

    private Task SendTokenizeAsync(IReadOnlyList<StageShard> shards)
    {
        var tokenizer = Context.Tokenizer!;
        return !options.Value.IssueWork ? Task.CompletedTask : commands.SendAsync(new TokenizeShards
        {
            RunId = RunId,
            Stage = Name,
            Shards = [.. shards.Select(shard => new ShardToTokenize { ShardKey = shard.Key, ShardBlob = shard.Blob })],
            TokenizerBlob = tokenizer.Blob,
            TokenizerHash = tokenizer.Hash,
            AddSpecialTokens = Context.AddSpecialTokens,
        }, default);
    }

    private async Task SendLaunchAsync()
    {
        if (!options.Value.IssueWork)
        {
            return;
        }

        var context = Context;
        var tokenizer = context.Tokenizer!;
        await commands.SendAsync(new LaunchTraining
        {
            RunId = RunId,
            Stage = Name,
            StageIndex = context.Index,
            Attempt = S.Attempt,
            Data = [.. BuildBlend().Select(d => new DataPrefix { Prefix = d.Prefix, Weight = d.Weight })],
            TokenizerBlob = tokenizer.Blob,
            VocabSize = tokenizer.VocabSize,
            EodTokenId = tokenizer.EodTokenId,
            Model = context.Model,
            Training = context.Training with { LearningRate = context.Spec.LearningRate ?? context.Training.LearningRate },
            TokenBudget = context.Spec.TokenBudget,
            InitFrom = S.InitFrom,
            ScheduleOffsetSteps = context.LearningRateWindow?.OffsetSteps ?? 0,
            ScheduleTotalSteps = context.LearningRateWindow?.TotalSteps ?? 0,
            SkipBatches = [.. S.SkipBatches],
            ResumeFromStep = S.ResumeFromStep,
        }, default);
    }

    /// <summary>
    /// The stage's blend: each source's weight shared among its training shards by token count, so that a
    /// source is sampled by its weight however it was cut into shards.
    /// </summary>
    private List<DataPrefixView> BuildBlend()
    {
        var blend = new List<DataPrefixView>();
        if (S.Context is null)
        {
            return blend;
        }

        foreach (var source in Context.Spec.Sources)
        {
            var shards = Shards.Values
                .Where(s => s.Source == source.Name && s.Split == SplitNames.Train && s.Prefix is not null && s.Tokens > 0)
                .OrderBy(s => s.Key, StringComparer.Ordinal)
                .ToList();
            var total = shards.Sum(s => (double)s.Tokens);
            foreach (var shard in shards)
            {
                blend.Add(new DataPrefixView(shard.Prefix!, source.Weight * shard.Tokens / total, source.Name, shard.Tokens));
            }
        }

        return blend;
    }

    /// <param name="resend">Also send those already sent (a resume after a restart or silence); a poke sends only new ones.</param>
    private async Task IssueEvaluationsAsync(bool resend = false)
    {
        if (S.PendingEvaluations.Count == 0 || !options.Value.IssueWork)
        {
            return;
        }

        var sets = await Run.GetEvalSetsAsync(Context.Index);
        if (sets is null)
        {
            return; // the next stage's held-out data is still being prepared; the Run pokes us when it is
        }

        var toSend = new List<CheckpointSummary>();
        foreach (var step in S.PendingEvaluations)
        {
            var checkpoint = S.Checkpoints.Find(c => c.Step == step);
            if (checkpoint is not null && (resend || !S.SentEvaluations.Contains(step)))
            {
                toSend.Add(checkpoint);
                S.SentEvaluations.Add(step);
            }
        }

        if (toSend.Count == 0)
        {
            return;
        }

        await SaveAsync(); // persisted before anything is sent onward
        foreach (var checkpoint in toSend)
        {
            using var trace = ContinueTrace("EvaluateCheckpoint", checkpoint.Step);
            await commands.SendAsync(new EvaluateCheckpoint
            {
                RunId = RunId,
                Stage = Name,
                Step = checkpoint.Step,
                CheckpointFolder = checkpoint.Folder,
                ContextLength = Context.Training.SeqLength,
                Sets = sets,
                MaxTokensPerDomain = Context.Evaluation.MaxTokensPerDomain,
                TokenizerBlob = Context.Tokenizer?.Blob,
                Suites = SuitesFor(checkpoint.Step),
            }, default);
        }
    }

    /// <param name="checkpoint">An operator's choice (`jiniac publish RUN STAGE/STEP`); default the stage's final checkpoint.</param>
    private async Task SendPublishAsync(CheckpointSummary? checkpoint = null)
    {
        if ((checkpoint ?? S.Final) is not { } final || Context.Publish is not { } target || !options.Value.IssueWork)
        {
            return;
        }

        var curriculum = await Run.GetCurriculumAsync(Context.Index);
        using var trace = ContinueTrace("PublishModel", final.Step);
        await commands.SendAsync(new PublishModel
        {
            RunId = RunId,
            Stage = Name,
            Step = final.Step,
            CheckpointFolder = final.Folder,
            TokenizerBlob = Context.Tokenizer!.Blob,
            Target = target,
            Curriculum = curriculum,
            Evaluation = S.Evaluations.TryGetValue(final.Step, out var results) ? results : [],
            Metrics = S.Metrics.TryGetValue(final.Step, out var metrics) ? metrics : [],
        }, default);
    }

    /// <summary>Keeps the trace of the event that brought a checkpoint, so its evaluation and publication join that trace.</summary>
    private void RememberTrace(long step)
    {
        if (GrainTrace.Incoming() is { } traceParent)
        {
            S.TraceParents[step] = traceParent;
        }
    }

    private System.Diagnostics.Activity? ContinueTrace(string command, long step) =>
        JiniacTelemetry.Continue($"{command} {RunId}/{Name}/{step}", S.TraceParents.GetValueOrDefault(step));

    private async Task TransitionAsync(StageStatus status, string? reason)
    {
        if (status.IsActive())
        {
            // The reminder first: once an active status is durable, the reminder is what re-issues the work the status
            // stands for. Registered after the write, a silo dying in between left a stage Preparing with no ingest sent
            // and nothing to send it (a chaos run stalled so). Registered before, a death in between leaves a reminder on
            // a stage still Pending, which its first tick removes.
            await this.RegisterOrUpdateReminder(ReissueReminder, options.Value.ReissueCheckPeriod, options.Value.ReissueCheckPeriod);
        }

        var from = S.Status;
        S.Status = status;
        S.Reason = reason;
        S.History.Add(new StageTransition(time.GetUtcNow(), status, S.Attempt, reason));
        await SaveAsync();
        Log.StageTransition(logger, this.GetPrimaryKeyString(), from, status, reason);
        await JournalAsync("StageStatusChanged", new { stage = Name, index = Context.Index, from = from.ToString(), to = status.ToString(), attempt = S.Attempt, reason });
        Run.OnStageChangedAsync(Context.Index, status).Ignore();
    }

    private Task SaveAsync()
    {
        S.LastActivity = time.GetUtcNow();
        return state.WriteStateAsync();
    }

    private Task JournalAsync(string type, object payload) =>
        GrainFactory.GetGrain<IJournalGrain>(RunId).AppendAsync(type, Name, JsonSerializer.Serialize(payload, OrchestratorJson.Options));

    private StageView BuildView()
    {
        var spec = S.Context?.Spec;
        var shards = Shards.Values;
        return new StageView
        {
            Name = spec?.Name ?? this.GetPrimaryKeyString().Split('/')[^1],
            Index = S.Context?.Index ?? -1,
            Status = S.Status.ToString(),
            Attempt = S.Attempt,
            Reason = S.Reason,
            Data = BuildBlend(),
            TokenBudget = spec?.TokenBudget ?? 0,
            TokensTrained = S.Tokens,
            Step = S.Step,
            TotalSteps = S.TotalSteps,
            Loss = S.Loss,
            TokensPerSecond = S.TokensPerSecond,
            ShardsTotal = shards.Count,
            ShardsTokenized = shards.Count(s => s.Prefix is not null),
            ShardsFailed = shards.Count(s => s.Error is not null),
            RecordsIn = S.Sources.Values.Sum(s => s.RecordsIn),
            RecordsOut = S.Sources.Values.Sum(s => s.RecordsOut),
            Duplicates = S.Sources.Values.Sum(s => s.Duplicates),
            NearDuplicates = S.Sources.Values.Sum(s => s.NearDuplicates),
            Quarantined = S.Sources.Values.Sum(s => s.Quarantined),
            SourcesDone = S.Sources.Values.Count(s => s.Done),
            SourcesTotal = spec?.Sources.Count ?? 0,
            Checkpoints = S.Checkpoints,
            Final = S.Final,
            Evaluations = [.. S.Evaluations.OrderBy(e => e.Key).Select(e => new EvaluationView(e.Key, e.Value)
            {
                Metrics = S.Metrics.TryGetValue(e.Key, out var m) ? m : [],
                Generations = S.Generations.TryGetValue(e.Key, out var g) ? g : [],
            })],
            Published = S.Published,
            JobId = S.JobId,
            Restarts = S.Restarts,
            Pruned = [.. S.Pruned],
            Discarded = S.Discarded,
            SkipBatches = S.SkipBatches,
        };
    }
}
