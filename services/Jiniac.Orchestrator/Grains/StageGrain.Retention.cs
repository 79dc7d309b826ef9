using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Grains;

/// <summary>
/// Checkpoint retention (training.retention): after each new checkpoint and each finished evaluation the stage asks the
/// launcher to delete what nothing needs any more. Kept: the last keep_last, every multiple of keep_every, the stage's
/// final checkpoint (the next stage starts from it, publishing writes it), any checkpoint an evaluation waits for, and
/// with keep_best the evaluated checkpoint with the best value of that metric.
/// </summary>
public sealed partial class StageGrain
{
    private async Task PruneAsync()
    {
        var retention = Context.Training.Retention;
        if (retention.KeepLast <= 0 || S.Checkpoints.Count <= retention.KeepLast)
        {
            return;
        }

        var keep = new HashSet<long>(S.Checkpoints.TakeLast(retention.KeepLast).Select(c => c.Step));
        keep.UnionWith(S.PendingEvaluations);
        keep.UnionWith(S.SentEvaluations);
        if (S.Final is { } final)
        {
            keep.Add(final.Step);
        }

        if (retention.KeepBest is { } metric && BestEvaluated(metric) is { } best)
        {
            keep.Add(best);
        }

        List<long> prune = [.. S.Checkpoints
            .Select(c => c.Step)
            .Where(step => !keep.Contains(step) && !S.Pruned.Contains(step) && !(retention.KeepEvery > 0 && step % retention.KeepEvery == 0))];
        if (prune.Count == 0)
        {
            return;
        }

        S.Pruned.UnionWith(prune);
        await SaveAsync();
        await JournalAsync("CheckpointsPruned", new { stage = Name, attempt = S.Attempt, steps = prune, keep_last = retention.KeepLast, keep_every = retention.KeepEvery, keep_best = retention.KeepBest });
        if (options.Value.IssueWork)
        {
            await commands.SendAsync(new PruneCheckpoints { RunId = RunId, Stage = Name, Attempt = S.Attempt, Steps = prune, Archive = retention.Archive }, default);
        }
    }

    /// <summary>The step, among this stage's checkpoints not yet pruned, whose evaluation scored <paramref name="metric"/> best (the earliest on a tie).</summary>
    private long? BestEvaluated(string metric)
    {
        var higherIsBetter = Contracts.Pipeline.GateSpec.DefaultHigherIsBetter(metric);
        long? best = null;
        var bestValue = 0.0;
        foreach (var checkpoint in S.Checkpoints)
        {
            if (S.Pruned.Contains(checkpoint.Step) || !S.Metrics.TryGetValue(checkpoint.Step, out var metrics)
                || GateCheck.Find(metrics, metric) is not { } value || !double.IsFinite(value))
            {
                continue;
            }

            if (best is null || (higherIsBetter ? value > bestValue : value < bestValue))
            {
                (best, bestValue) = (checkpoint.Step, value);
            }
        }

        return best;
    }
}
