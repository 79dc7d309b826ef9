using System.Globalization;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Jiniac.TrainLauncher;

/// <summary>
/// Deletes the checkpoints retention gave up (the orchestrator's stage decides what no evaluation, publish or next stage
/// needs). This side guards what only it knows: the latest complete checkpoint and the one JOB.json resumes from are
/// what a running or restarting trainer needs, and are refused. Checkpoints are named by step; no path comes in.
/// </summary>
internal static class CheckpointPruner
{
    public static string FolderOf(string trainDir, long step) =>
        Path.GetFullPath(Path.Combine(trainDir, Checkpoints.Folder, $"step_{step.ToString("D7", CultureInfo.InvariantCulture)}"));

    /// <param name="notArchived">With training.retention.archive: steps whose archive is not finished, which are refused.</param>
    public static (List<long> Deleted, List<string> Refused) Prune(string trainDir, IReadOnlyList<long> steps, IReadOnlySet<long>? notArchived = null)
    {
        var job = TrainJobs.TryRead(trainDir);
        var latest = job?.JobHash is { } hash && Checkpoints.Complete(trainDir, hash) is { Count: > 0 } complete ? complete[^1].Step : (long?)null;
        var resumeFrom = job?.ResumeFrom is { } resume ? Path.GetFullPath(resume) : null;
        var deleted = new List<long>();
        var refused = new List<string>();
        foreach (var step in steps.Distinct().Order())
        {
            var folder = FolderOf(trainDir, step);
            var name = Path.GetFileName(folder);
            if (step <= 0)
            {
                refused.Add($"{step.ToString(CultureInfo.InvariantCulture)}: not a checkpoint step");
            }
            else if (step == latest)
            {
                refused.Add($"{name}: the latest complete checkpoint (a resume needs it)");
            }
            else if (string.Equals(folder, resumeFrom, StringComparison.Ordinal))
            {
                refused.Add($"{name}: the trainer resumes from it");
            }
            else if (notArchived?.Contains(step) == true && Directory.Exists(folder))
            {
                refused.Add($"{name}: its archive to the blob store is not finished");
            }
            else if (Directory.Exists(folder))
            {
                // COMPLETE first: a crash halfway leaves an incomplete folder, which does not exist for anyone.
                File.Delete(Path.Combine(folder, Checkpoints.CompleteMarker));
                Directory.Delete(folder, recursive: true);
                deleted.Add(step);
            }
        }

        return (deleted, refused);
    }
}

/// <summary>Prunes on the launcher's disk and says what happened (the run's journal records CheckpointsDeleted).</summary>
public sealed class PruneCheckpointsConsumer(StatePaths paths, IBlobStore blobs, ILogger<PruneCheckpointsConsumer> logger) : IConsumer<PruneCheckpoints>
{
    public async Task Consume(ConsumeContext<PruneCheckpoints> context)
    {
        var m = context.Message;
        HashSet<long>? notArchived = null;
        if (m.Archive)
        {
            notArchived = [];
            foreach (var step in m.Steps.Where(s => s > 0).Distinct())
            {
                var folder = CheckpointPruner.FolderOf(paths.TrainDir(m.RunId, m.Stage), step);
                if (!await CheckpointArchiver.IsArchivedAsync(blobs, m.RunId, m.Stage, step, folder, context.CancellationToken))
                {
                    notArchived.Add(step);
                }
            }
        }

        var (deleted, refused) = CheckpointPruner.Prune(paths.TrainDir(m.RunId, m.Stage), m.Steps, notArchived);
        Log.Pruned(logger, m.RunId, m.Stage, deleted.Count, refused.Count);
        await context.Publish(new CheckpointsDeleted { RunId = m.RunId, Stage = m.Stage, Steps = deleted, Refused = refused }, context.CancellationToken);
    }
}
