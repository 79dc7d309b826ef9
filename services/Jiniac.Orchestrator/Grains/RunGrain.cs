using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Grains;

/// <summary>
/// The curriculum manager of one run: stages in order, stage N+1 prepared while stage N trains, stage
/// N+1 trained from stage N's final weights. Stage grains own their stage's work; the Run decides when a
/// stage may start and what it starts from.
/// </summary>
public sealed class RunGrain(
    [PersistentState("run", OrchestratorStorage.Name)] IPersistentState<RunState> state,
    ICommandSender commands,
    TimeProvider time,
    IOptions<OrchestratorOptions> options,
    ILogger<RunGrain> logger) : Grain, IRunGrain, IRemindable
{
    private const string ReconcileReminder = "reconcile";

    private RunState S => state.State;
    private PipelineSpec Spec => S.Spec ?? throw new InvalidOperationException($"run '{this.GetPrimaryKeyString()}' was never submitted");
    private string RunId => this.GetPrimaryKeyString();

    public async Task<SubmitResult> SubmitAsync(PipelineSpec spec)
    {
        if (S.Spec is not null)
        {
            if (!SameSpec(S.Spec, spec))
            {
                return new SubmitResult(RunId, false,
                    $"run '{RunId}' already exists with a different pipeline (submitted from {S.Spec.SourceFile}); submit the changed pipeline under another run id");
            }

            await ResumeAsync();
            return new SubmitResult(RunId, false, null);
        }

        S.RunId = RunId;
        S.Spec = spec;
        S.Stages = [.. spec.Stages.Select(_ => StageStatus.Pending)];
        S.Created = time.GetUtcNow();
        await SetStatusAsync(RunStatus.Running, null);
        await GrainFactory.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).AddAsync(RunId);
        await JournalAsync("RunSubmitted", null, new { name = spec.Name, pipeline = spec.SourceFile, stages = spec.Stages.Select(s => s.Name) });
        await RequestTokenizerAsync();
        await AdvanceAsync();
        return new SubmitResult(RunId, true, null);
    }

    public async Task ResumeAsync()
    {
        if (S.Spec is null || S.Status.IsTerminal() || !options.Value.IssueWork)
        {
            return;
        }

        await EnsureReconcilingAsync(S.Status);
        await RequestTokenizerAsync(resend: true);
        for (var i = 0; i < S.Stages.Count; i++)
        {
            if (S.Stages[i] != StageStatus.Pending && !S.Stages[i].IsTerminal())
            {
                await Stage(i).ResumeAsync();
            }
        }

        await AdvanceAsync();
    }

    public async Task OnTokenizerReadyAsync(TokenizerReady message)
    {
        if (S.Spec is null || S.Tokenizer is not null)
        {
            return;
        }

        S.Tokenizer = new TokenizerInfo
        {
            Blob = message.TokenizerBlob,
            Hash = message.TokenizerHash,
            VocabSize = message.VocabSize,
            EodTokenId = message.EodTokenId,
        };
        await SaveAsync();
        for (var i = 0; i < S.Stages.Count; i++)
        {
            if (S.Stages[i] != StageStatus.Pending)
            {
                await Stage(i).SetTokenizerAsync(S.Tokenizer);
            }
        }
    }

    public async Task OnTokenizerFailedAsync(TokenizerFailed message)
    {
        if (S.Spec is null || S.Tokenizer is not null || S.Status.IsTerminal())
        {
            return;
        }

        S.TokenizerRequested = false;
        await SetStatusAsync(RunStatus.Failed, $"tokenizer: {message.Reason}");
    }

    public async Task OnStageChangedAsync(int index, StageStatus status)
    {
        if (S.Spec is null || index < 0 || index >= S.Stages.Count || S.Stages[index] == status)
        {
            return;
        }

        S.Stages[index] = status;
        await SaveAsync();
        if (status is StageStatus.Ready or StageStatus.Failed or StageStatus.Cancelled)
        {
            // An earlier stage's evaluation may be waiting for this stage's held-out data.
            for (var j = 0; j < index; j++)
            {
                if (S.Stages[j] is StageStatus.Training or StageStatus.Evaluating)
                {
                    await Stage(j).PokeAsync();
                }
            }
        }

        await AdvanceAsync();
    }

    public async Task OnStageIngestedAsync(int index)
    {
        if (index == 0 && S.Spec is not null && S.Tokenizer is null && !S.TokenizerRequested && Spec.Tokenizer.Train is not null)
        {
            await RequestTokenizerAsync();
        }
    }

    public async Task<string> CancelAsync(string reason)
    {
        if (S.Spec is null)
        {
            return "NotFound";
        }

        if (!S.Status.IsTerminal())
        {
            await SetStatusAsync(RunStatus.Cancelled, reason);
            for (var i = 0; i < S.Stages.Count; i++)
            {
                if (S.Stages[i] != StageStatus.Pending && !S.Stages[i].IsTerminal())
                {
                    await Stage(i).CancelAsync(reason);
                }
            }
        }

        return S.Status.ToString();
    }

    public async Task<ReplayResult> ReplayStageAsync(string stage, ReplayRequest request)
    {
        if (FindStage(stage, out var index) is { } missing)
        {
            return missing;
        }

        if (S.Stages[index] == StageStatus.Pending)
        {
            return new ReplayResult(0, "Pending", $"stage '{stage}' has not started: nothing to replay");
        }

        return await AfterReplayAsync(index, await Stage(index).ReplayAsync(request), $"stage '{stage}' replayed by {request.RequestedBy}: {request.Reason}");
    }

    public async Task<ReplayResult> ReplayShardAsync(string stage, string shard, ReplayRequest request)
    {
        if (FindStage(stage, out var index) is { } missing)
        {
            return missing;
        }

        return await AfterReplayAsync(index, await Stage(index).ReplayShardAsync(shard, request), $"shard {shard} of stage '{stage}' replayed by {request.RequestedBy}: {request.Reason}");
    }

    public async Task<ReplayResult> PublishAsync(string stage, long? step, string requestedBy)
    {
        if (FindStage(stage, out var index) is { } missing)
        {
            return missing;
        }

        return await Stage(index).PublishAsync(step, requestedBy);
    }

    private ReplayResult? FindStage(string stage, out int index)
    {
        index = S.Spec is null ? -1 : Spec.Stages.ToList().FindIndex(s => s.Name == stage);
        if (S.Spec is null)
        {
            return new ReplayResult(0, "NotFound", $"run '{RunId}' does not exist");
        }

        return index < 0
            ? new ReplayResult(0, "NotFound", $"run '{RunId}' has no stage '{stage}' (stages: {string.Join(", ", Spec.Stages.Select(s => s.Name))})")
            : null;
    }

    /// <summary>A stage that took a replay is active again, and so is its run.</summary>
    private async Task<ReplayResult> AfterReplayAsync(int index, ReplayResult result, string why)
    {
        if (result.Error is not null)
        {
            return result;
        }

        S.Stages[index] = Enum.Parse<StageStatus>(result.Status);
        if (S.Status.IsTerminal())
        {
            S.Status = RunStatus.Running;
            S.Reason = null;
            await JournalAsync("RunStatusChanged", null, new { status = S.Status.ToString(), reason = why });
        }

        await SaveAsync();
        await RequestTokenizerAsync(resend: true);
        await AdvanceAsync();
        return result;
    }

    public async Task<ReplayResult> ApproveStageAsync(string stage, string reason)
    {
        var index = S.Spec is null ? -1 : Spec.Stages.ToList().FindIndex(s => s.Name == stage);
        if (index < 0)
        {
            return new ReplayResult(0, "NotFound", S.Spec is null ? $"run '{RunId}' does not exist" : $"run '{RunId}' has no stage '{stage}'");
        }

        var result = await Stage(index).ApproveAsync(reason);
        if (result.Error is null)
        {
            S.Stages[index] = Enum.Parse<StageStatus>(result.Status);
            await SaveAsync();
            await AdvanceAsync();
        }

        return result;
    }

    public async Task<RunView?> GetViewAsync()
    {
        if (S.Spec is null)
        {
            return null;
        }

        var stages = new List<StageView>();
        for (var i = 0; i < S.Stages.Count; i++)
        {
            var view = await Stage(i).GetViewAsync();
            stages.Add(view with { Name = Spec.Stages[i].Name, Index = i, TokenBudget = Spec.Stages[i].TokenBudget, SourcesTotal = Spec.Stages[i].Sources.Count });
        }

        return new RunView
        {
            RunId = RunId,
            Name = Spec.Name,
            Status = S.Status.ToString(),
            Reason = S.Reason,
            CurrentStage = Spec.Stages[Math.Min(S.CurrentStage, Spec.Stages.Count - 1)].Name,
            PipelinePath = Spec.SourceFile,
            Tokenizer = S.Tokenizer,
            Created = S.Created,
            Updated = S.Updated,
            Stages = stages,
        };
    }

    public async Task<IReadOnlyList<EvalSet>?> GetEvalSetsAsync(int index)
    {
        if (S.Spec is null)
        {
            return null;
        }

        var sets = new List<EvalSet>();
        var last = Math.Min(index + 1, S.Stages.Count - 1);
        for (var j = 0; j <= last; j++)
        {
            if (j > index && S.Stages[j] is StageStatus.Failed or StageStatus.Cancelled)
            {
                continue; // the next stage could not prepare its data: evaluate without it rather than wait forever
            }

            var stageSets = await Stage(j).GetEvalSetsAsync();
            if (stageSets is null)
            {
                return null;
            }

            foreach (var set in stageSets)
            {
                var existing = sets.FindIndex(s => s.Domain == set.Domain);
                if (existing < 0)
                {
                    sets.Add(set);
                }
                else
                {
                    var merged = sets[existing];
                    sets[existing] = merged with { Prefixes = [.. merged.Prefixes, .. set.Prefixes], TextBytes = merged.TextBytes + set.TextBytes };
                }
            }
        }

        return sets;
    }

    public async Task<IReadOnlyList<CurriculumEntry>> GetCurriculumAsync(int index)
    {
        var entries = new List<CurriculumEntry>();
        if (S.Spec is null)
        {
            return entries;
        }

        for (var j = 0; j <= index && j < S.Stages.Count; j++)
        {
            var view = await Stage(j).GetViewAsync();
            entries.Add(new CurriculumEntry
            {
                Stage = Spec.Stages[j].Name,
                Sources = [.. Spec.Stages[j].Sources.Select(s => s.Name)],
                Tokens = view.TokensTrained,
                Steps = view.Step,
                FinalLoss = view.Final?.Loss,
                RecordsIn = view.RecordsIn,
                RecordsOut = view.RecordsOut,
                Duplicates = view.Duplicates,
                Quarantined = view.Quarantined,
                DataTokens = view.Data.Sum(d => d.Tokens),
            });
        }

        return entries;
    }

    /// <summary>Moves the curriculum forward as far as the stages' statuses allow.</summary>
    private async Task AdvanceAsync()
    {
        while (S.Status == RunStatus.Running && options.Value.IssueWork)
        {
            var c = S.CurrentStage;
            switch (S.Stages[c])
            {
                case StageStatus.Pending:
                    await Stage(c).PrepareAsync(ContextFor(c));
                    return;
                case StageStatus.Ready:
                    string? initFrom = null;
                    if (c > 0)
                    {
                        var previous = await Stage(c - 1).GetViewAsync();
                        initFrom = previous.Final?.Folder;
                    }

                    await Stage(c).StartTrainingAsync(initFrom);
                    return;
                case StageStatus.Training or StageStatus.Evaluating or StageStatus.Publishing or StageStatus.Gated:
                    // Prepare the next stage's data while this one trains, so training never waits for data.
                    if (c + 1 < S.Stages.Count && S.Stages[c + 1] == StageStatus.Pending)
                    {
                        await Stage(c + 1).PrepareAsync(ContextFor(c + 1));
                    }

                    // Without gates nothing can hold this stage once its final checkpoint exists: the next stage
                    // trains from it while this one is evaluated and published. With gates, it waits for their verdict.
                    if (S.Stages[c] is StageStatus.Evaluating or StageStatus.Publishing && Spec.Evaluation.Gates.Count == 0
                        && c + 1 < S.Stages.Count && S.Stages[c + 1] == StageStatus.Ready
                        && (await Stage(c).GetViewAsync()).Final is { } final)
                    {
                        await Stage(c + 1).StartTrainingAsync(final.Folder);
                    }

                    return;
                case StageStatus.Preparing:
                    return;
                case StageStatus.Completed:
                    if (c == S.Stages.Count - 1)
                    {
                        await SetStatusAsync(RunStatus.Completed, null);
                        return;
                    }

                    S.CurrentStage = c + 1;
                    await SaveAsync();
                    continue;
                case StageStatus.Failed:
                    var failed = await Stage(c).GetViewAsync();
                    await SetStatusAsync(RunStatus.Failed, $"stage '{failed.Name}' failed: {failed.Reason}");
                    return;
                case StageStatus.Cancelled:
                    await SetStatusAsync(RunStatus.Cancelled, "stage cancelled");
                    return;
            }
        }
    }

    private async Task RequestTokenizerAsync(bool resend = false)
    {
        if (S.Tokenizer is not null || !options.Value.IssueWork || (S.TokenizerRequested && !resend))
        {
            return;
        }

        if (Spec.Tokenizer.Path is { } path)
        {
            S.TokenizerRequested = true;
            await SaveAsync();
            await commands.SendAsync(new RegisterTokenizer { RunId = RunId, Path = path }, default);
            return;
        }

        // A trained tokenizer waits for the first stage's training shards.
        var blobs = await Stage(0).GetTrainShardBlobsAsync();
        var ingested = S.Stages[0] != StageStatus.Pending && (await Stage(0).GetViewAsync()) is { SourcesDone: var done, SourcesTotal: var total } && done == total && total > 0;
        if (!ingested || blobs.Count == 0)
        {
            return;
        }

        S.TokenizerRequested = true;
        await SaveAsync();
        Log.TrainingTokenizer(logger, RunId, blobs.Count, Spec.Stages[0].Name);
        await commands.SendAsync(new TrainTokenizer { RunId = RunId, SampleBlobs = blobs, Settings = Spec.Tokenizer.Train! }, default);
    }

    private StageContext ContextFor(int index) => new()
    {
        RunId = RunId,
        Index = index,
        Spec = Spec.Stages[index],
        Model = Spec.Model,
        Training = Spec.Training,
        Evaluation = Spec.Evaluation,
        Publish = Spec.Publish,
        Tokenizer = S.Tokenizer,
        PreviousStage = index > 0 ? Spec.Stages[index - 1].Name : null,
        AddSpecialTokens = Spec.Tokenizer.AddSpecialTokens,
        LearningRateWindow = LearningRateWindow.For(Spec.Stages, Spec.Training, index),
    };

    private IStageGrain Stage(int index) => GrainFactory.GetGrain<IStageGrain>(GrainKeys.Stage(RunId, Spec.Stages[index].Name));

    private async Task SetStatusAsync(RunStatus status, string? reason)
    {
        // As a stage does (StageGrain.TransitionAsync): the reminder before the durable Running, so a silo dying between
        // the two cannot leave a run Running with nothing to drive it. A reminder on a run whose write never happened
        // finds no Running run at its first tick and removes itself.
        await EnsureReconcilingAsync(status);
        S.Status = status;
        S.Reason = reason;
        await SaveAsync();
        Log.RunStatusChanged(logger, RunId, status, reason);
        await JournalAsync("RunStatusChanged", null, new { status = status.ToString(), reason });
    }

    /// <summary>A running run checks its stages on a reminder; an ended one does not.</summary>
    private async Task EnsureReconcilingAsync(RunStatus status)
    {
        if (status == RunStatus.Running && options.Value.IssueWork)
        {
            await this.RegisterOrUpdateReminder(ReconcileReminder, options.Value.ReissueCheckPeriod, options.Value.ReissueCheckPeriod);
        }
        else if (await this.GetReminder(ReconcileReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>
    /// A stage tells its Run of a change by a [OneWay] call, which is lost when the Run's silo dies at that moment, and
    /// a change the Run took in is not acted on if a call it makes then fails (its state is saved first). Either leaves
    /// the run waiting for a notice that will not come: the chaos test saw a stage Ready for good after the first one
    /// completed. So, while the run is running, the Run reads the current and next stages' statuses on a reminder,
    /// takes in what it missed, and moves the curriculum on as they allow (every step of that is idempotent).
    /// </summary>
    public async Task ReceiveReminder(string reminderName, Orleans.Runtime.TickStatus status)
    {
        if (S.Spec is null || S.Status != RunStatus.Running || !options.Value.IssueWork)
        {
            await EnsureReconcilingAsync(S.Status);
            return;
        }

        var changed = false;
        for (var i = S.CurrentStage; i < Math.Min(S.Stages.Count, S.CurrentStage + 2); i++)
        {
            var actual = await Stage(i).GetStatusAsync();
            if (actual != S.Stages[i])
            {
                Log.StageStatusReconciled(logger, RunId, i, S.Stages[i], actual);
                S.Stages[i] = actual;
                changed = true;
            }
        }

        if (changed)
        {
            await SaveAsync();
        }

        await AdvanceAsync();
    }

    private Task SaveAsync()
    {
        S.Updated = time.GetUtcNow();
        return state.WriteStateAsync();
    }

    private Task JournalAsync(string type, string? stage, object payload) =>
        GrainFactory.GetGrain<IJournalGrain>(RunId).AppendAsync(type, stage, JsonSerializer.Serialize(payload, OrchestratorJson.Options));

    private static bool SameSpec(PipelineSpec a, PipelineSpec b) =>
        JsonSerializer.Serialize(a, OrchestratorJson.Options) == JsonSerializer.Serialize(b, OrchestratorJson.Options);

    public Task<PipelineSpec?> GetSpecAsync() => Task.FromResult(S.Spec);
}
