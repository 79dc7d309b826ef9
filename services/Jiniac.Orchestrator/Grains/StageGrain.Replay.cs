using System.Globalization;
using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Grains;

/// <summary>
/// An operator's second chance for a stage: a replay (of a failed, cancelled or gated stage) resumes from the furthest
/// point still valid, or from a chosen checkpoint; a shard replay tokenizes one shard again; a publish sends a chosen
/// checkpoint to the hub. Each is a journal entry naming who asked and why.
/// </summary>
public sealed partial class StageGrain
{
    public async Task<ReplayResult> ReplayAsync(ReplayRequest request)
    {
        if (S.Context is null)
        {
            return Refuse("the stage was never started: nothing to replay");
        }

        if (S.Status is not (StageStatus.Failed or StageStatus.Cancelled or StageStatus.Gated))
        {
            return Refuse($"the stage is {S.Status}; only a failed, cancelled or gated stage can be replayed");
        }

        CheckpointSummary? from = null;
        if (request.FromCheckpoint is { } step)
        {
            from = S.Checkpoints.Find(c => c.Step == step);
            if (from is null || S.Pruned.Contains(step))
            {
                var kept = S.Checkpoints.Where(c => !S.Pruned.Contains(c.Step)).Select(c => c.Step.ToString(CultureInfo.InvariantCulture)).ToList();
                var why = from is null ? "is not a checkpoint of the stage's lineage" : "was deleted by retention";
                return Refuse($"step {step} {why}; checkpoints to replay from: {(kept.Count == 0 ? "none" : string.Join(", ", kept))}");
            }

            if (from == S.Final)
            {
                from = null; // the final checkpoint: nothing later to discard, training is done
            }
        }

        foreach (var range in request.SkipBatches)
        {
            if (range.From < 0 || range.To <= range.From)
            {
                return Refuse($"skip range {range.From}:{range.To} is empty or negative (A:B skips batches A to B-1)");
            }
        }

        if (request.SkipBatches.Count > 0 && from is null && S.Final is { } done)
        {
            return Refuse($"training of this stage finished at step {done.Step}: skipping batches needs a checkpoint to train again from (--from-checkpoint STEP)");
        }

        if (from is null && S.Status == StageStatus.Gated && S.Final is { } gated)
        {
            // Replaying a held stage evaluates its final checkpoint again, and the gates judge the new result.
            S.Evaluations.Remove(gated.Step);
            S.Metrics.Remove(gated.Step);
        }

        S.Attempt++;
        foreach (var range in request.SkipBatches)
        {
            if (!S.SkipBatches.Contains(range))
            {
                S.SkipBatches.Add(range);
            }
        }

        S.SkipBatches.Sort((a, b) => a.From != b.From ? a.From.CompareTo(b.From) : a.To.CompareTo(b.To));
        S.ResumeFromStep = from?.Step;
        var discarded = from is null ? [] : Discard(from, request.Reason);
        await JournalAsync("StageReplayed", new
        {
            stage = Name,
            attempt = S.Attempt,
            reason = request.Reason,
            requestedBy = request.RequestedBy,
            fromCheckpoint = from?.Step,
            skipBatches = S.SkipBatches,
            discarded,
        });

        // Resume from the furthest point that is still valid: nothing finished is redone.
        if (S.Final is { } final)
        {
            if (!S.Evaluations.ContainsKey(final.Step))
            {
                S.PendingEvaluations.Add(final.Step);
                S.SentEvaluations.Remove(final.Step);
                await TransitionAsync(StageStatus.Evaluating, null);
                await IssueEvaluationsAsync();
            }
            else if (Context.Publish is not null && !S.Published.Exists(p => p.Step == final.Step))
            {
                await TransitionAsync(StageStatus.Publishing, null);
                await SendPublishAsync();
            }
            else
            {
                await TransitionAsync(StageStatus.Completed, null);
            }
        }
        else if (IsPrepared())
        {
            // Training resumes from the launcher's latest complete checkpoint (or the chosen one): the Run relaunches it.
            await TransitionAsync(StageStatus.Ready, null);
        }
        else
        {
            var cleared = Shards.Values.Where(s => s.Error is not null).ToList();
            foreach (var shard in cleared)
            {
                shard.Error = null;
            }

            await AppendShardsAsync(cleared);

            await TransitionAsync(StageStatus.Preparing, null);
            await IssueIngestAsync();
            await IssueTokenizeAsync();
            await CheckReadyAsync();
        }

        return new ReplayResult(S.Attempt, S.Status.ToString(), null);
    }

    public async Task<ReplayResult> ReplayShardAsync(string shard, ReplayRequest request)
    {
        if (S.Context is null)
        {
            return Refuse("the stage was never started: it has no shards");
        }

        var matches = Shards.Values.Where(s => s.Key.StartsWith(shard, StringComparison.Ordinal)).ToList();
        if (shard.Length < 8 || matches.Count != 1)
        {
            var failed = Shards.Values.Where(s => s.Error is not null).Select(s => s.Key[..12]).ToList();
            var why = shard.Length < 8 ? "give at least 8 characters of the shard key" : matches.Count == 0 ? "no shard of this stage has that key" : $"{matches.Count} shards start with it";
            return Refuse($"shard '{shard}': {why}; failed shards: {(failed.Count == 0 ? "none" : string.Join(", ", failed))}");
        }

        var target = matches[0];
        if (target.Prefix is not null)
        {
            return Refuse($"shard {target.Key[..12]} is tokenized already ({target.Prefix}): nothing to replay");
        }

        if (Context.Tokenizer is null)
        {
            return Refuse("the run's tokenizer is not ready yet: the shard is tokenized as soon as it is");
        }

        if (S.Status is not (StageStatus.Preparing or StageStatus.Failed or StageStatus.Cancelled))
        {
            return Refuse($"the stage is {S.Status}; a shard can be replayed while the stage prepares, or after it failed or was cancelled");
        }

        var restart = S.Status != StageStatus.Preparing;
        if (restart)
        {
            S.Attempt++;
        }

        var previousError = target.Error;
        target.Error = null;
        await AppendShardsAsync([target]);
        await JournalAsync("ShardReplayed", new { stage = Name, shard = target.Key, attempt = S.Attempt, reason = request.Reason, requestedBy = request.RequestedBy, previousError });
        if (restart)
        {
            await TransitionAsync(StageStatus.Preparing, null);
            await IssueIngestAsync();
        }
        else
        {
            await SaveAsync();
        }

        await SendTokenizeAsync([target]);
        return new ReplayResult(S.Attempt, S.Status.ToString(), null);
    }

    public async Task<ReplayResult> PublishAsync(long? step, string requestedBy)
    {
        if (S.Context is null)
        {
            return Refuse("the stage was never started: nothing to publish");
        }

        if (Context.Publish is null)
        {
            return Refuse("the pipeline has no publish section: there is no hub to publish to");
        }

        var checkpoint = step is { } s ? S.Checkpoints.Find(c => c.Step == s) : S.Final;
        if (checkpoint is null || S.Pruned.Contains(checkpoint.Step))
        {
            var kept = S.Checkpoints.Where(c => !S.Pruned.Contains(c.Step)).Select(c => c.Step.ToString(CultureInfo.InvariantCulture)).ToList();
            var what = step is null ? "the stage has no final checkpoint yet" : $"step {step} is not a checkpoint of the stage's lineage{(checkpoint is null ? "" : " any more (deleted by retention)")}";
            return Refuse($"{what}; checkpoints to publish: {(kept.Count == 0 ? "none" : string.Join(", ", kept))} (STAGE/STEP)");
        }

        await JournalAsync("PublishRequested", new { stage = Name, step = checkpoint.Step, requestedBy });
        await SaveAsync();
        await SendPublishAsync(checkpoint);
        return new ReplayResult(S.Attempt, S.Status.ToString(), null);
    }

    public Task<IReadOnlyList<DiscardedCheckpoint>> GetDiscardedAsync() => Task.FromResult<IReadOnlyList<DiscardedCheckpoint>>(S.Discarded);

    /// <summary>Takes the checkpoints after <paramref name="from"/> out of the lineage; the launcher keeps their files (replayed/attempt-N).</summary>
    private List<long> Discard(CheckpointSummary from, string reason)
    {
        var later = S.Checkpoints.Where(c => c.Step > from.Step).ToList();
        foreach (var c in later)
        {
            S.Discarded.Add(new DiscardedCheckpoint(c.Step, c.Tokens, c.Loss, c.Folder, S.Attempt, reason));
        }

        S.Checkpoints.RemoveAll(c => c.Step > from.Step);
        S.PendingEvaluations.RemoveWhere(step => step > from.Step);
        S.SentEvaluations.RemoveWhere(step => step > from.Step);
        S.Pruned.RemoveWhere(step => step > from.Step);
        foreach (var step in S.Evaluations.Keys.Where(step => step > from.Step).ToList())
        {
            S.Evaluations.Remove(step);
            S.Metrics.Remove(step);
            S.Generations.Remove(step);
        }

        S.Final = null;
        S.Step = from.Step;
        S.Tokens = from.Tokens;
        S.Loss = from.Loss;
        return [.. later.Select(c => c.Step)];
    }

    /// <summary>A late report of a checkpoint that a replay took out of the lineage (from the attempt before it).</summary>
    private bool IsDiscarded(CheckpointSaved message) => S.Discarded.Exists(d => d.Step == message.Step && message.Attempt < d.Attempt);

    private ReplayResult Refuse(string error) => new(S.Attempt, S.Status.ToString(), error);
}
