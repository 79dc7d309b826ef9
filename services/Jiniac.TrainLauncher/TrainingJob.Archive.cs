using Jiniac.Contracts;

namespace Jiniac.TrainLauncher;

// training.retention.archive: each complete checkpoint goes to the blob store in the background, one checkpoint at a
// time (its files in parallel), so that the trainer is never waited on; pruning refuses a checkpoint until its
// archive marker exists (CheckpointPruner), and the stage's completion waits for every archive.
internal sealed partial class TrainingJob
{
    private readonly Lock _archiveLock = new();
    private Task _archives = Task.CompletedTask;

    private bool Archiving => command.Training.Retention.Archive;

    private void QueueArchive(CheckpointInfo checkpoint)
    {
        if (!Archiving)
        {
            return;
        }

        lock (_archiveLock)
        {
            var previous = _archives;
            _archives = Task.Run(async () =>
            {
                await previous;
                await ArchiveAsync(checkpoint);
            });
        }
    }

    /// <summary>Waits for the queued archives, then archives whatever complete checkpoint is still missing (an interrupted host's).</summary>
    private async Task ArchiveRemainingAsync()
    {
        if (!Archiving)
        {
            return;
        }

        Task pending;
        lock (_archiveLock)
        {
            pending = _archives;
        }

        await pending;
        foreach (var checkpoint in _adapter?.Complete() ?? [])
        {
            await ArchiveAsync(checkpoint);
        }
    }

    private async Task ArchiveAsync(CheckpointInfo checkpoint)
    {
        // Not the stop token: a stop or shutdown must not leave half an archive that nobody resumes before pruning.
        var token = supervisor.ShutdownToken;
        try
        {
            if (await CheckpointArchiver.IsArchivedAsync(supervisor.Blobs, RunId, Stage, checkpoint.Step, checkpoint.Folder, token) || !Directory.Exists(checkpoint.Folder))
            {
                return;
            }

            var result = await CheckpointArchiver.ArchiveAsync(supervisor.Blobs, RunId, Stage, checkpoint.Step, checkpoint.Folder,
                command.Training.Retention.ArchiveParallelism, token);
            Log.Archived(Logger, RunId, Stage, checkpoint.Step, result.Prefix, result.Files, result.Skipped);
            await PublishAsync(new CheckpointArchived
            {
                RunId = RunId,
                Stage = Stage,
                Step = checkpoint.Step,
                Prefix = result.Prefix,
                Files = result.Files,
                Bytes = result.Bytes,
                Skipped = result.Skipped,
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The checkpoint stays (pruning refuses it) and the stage's completion tries again.
            Log.ArchiveFailed(Logger, RunId, Stage, checkpoint.Step, e);
        }
        catch (OperationCanceledException)
        {
            // Host shutdown: the next host resumes the archive, skipping the files already uploaded.
        }
    }
}
