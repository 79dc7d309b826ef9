using System.Collections.Concurrent;
using Jiniac.Contracts;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>training.retention.archive with the folder blob store (the embedded default).</summary>
public sealed class CheckpointArchiveTests
{
    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    [Fact]
    public async Task Every_checkpoint_is_archived_before_the_stage_completes_and_pruning_waits_for_its_archive()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        var command = LauncherFixture.Command(steps: 10);
        await SendAsync(fixture, command with { Training = command.Training with { Retention = new() { Archive = true, ArchiveParallelism = 3 } } });

        await fixture.Events.WaitForAsync<TrainingCompleted>();

        var all = fixture.Events.All.ToList();
        var archived = fixture.Events.Of<CheckpointArchived>();
        Assert.Equal([4L, 8L, 10L], archived.Select(a => a.Step).Order());
        Assert.All(archived, a => Assert.True(all.IndexOf(a) < all.Count - 1));
        foreach (var a in archived)
        {
            var folder = fixture.CheckpointFolder(a.Step);
            Assert.Equal($"checkpoints/{LauncherFixture.RunId}/{LauncherFixture.Stage}/step_{a.Step:D7}", a.Prefix);
            var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
            Assert.Equal(files.Length, a.Files);
            foreach (var file in files)
            {
                await using var blob = await fixture.Host.Blobs.OpenReadAsync(a.Prefix + "/" + Path.GetRelativePath(folder, file).Replace('\\', '/'), CancellationToken.None);
                using var copy = new MemoryStream();
                await blob.CopyToAsync(copy);
                Assert.Equal(await File.ReadAllBytesAsync(file), copy.ToArray());
            }
        }

        // Step 8's archive "not finished": its marker is gone. Pruning keeps it, and deletes the archived step 4.
        await fixture.Host.Blobs.DeleteAsync(archived.Single(a => a.Step == 8).Prefix + "/ARCHIVED", CancellationToken.None);
        await SendAsync(fixture, new PruneCheckpoints { RunId = LauncherFixture.RunId, Stage = LauncherFixture.Stage, Attempt = 1, Steps = [4, 8], Archive = true });
        var deleted = await fixture.Events.WaitForAsync<CheckpointsDeleted>();

        Assert.Equal([4L], deleted.Steps);
        Assert.Contains(deleted.Refused, r => r.StartsWith("step_0000008: its archive to the blob store is not finished", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(fixture.CheckpointFolder(8), "COMPLETE")));
        Assert.False(Directory.Exists(fixture.CheckpointFolder(4)));
    }

    [Fact]
    public async Task An_interrupted_archive_resumes_without_uploading_the_finished_files_again()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "step_0000012");
        Directory.CreateDirectory(Path.Combine(folder, "shards"));
        var names = new[] { "COMPLETE", "config.json", "model.safetensors", "optimizer.safetensors", "shards/a.bin", "trainer_state.json" };
        for (var i = 0; i < names.Length; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, names[i]), [.. Enumerable.Repeat((byte)i, 100 + i)]);
        }

        using var cut = new CancellationTokenSource();
        var blobs = new ObservedBlobStore(new FolderBlobStore(Path.Combine(temp.Path, "blobs")), afterPuts: 3, cut);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            CheckpointArchiver.ArchiveAsync(blobs, "run-1", "stage-a", 12, folder, parallelism: 1, cut.Token));
        Assert.False(await CheckpointArchiver.IsArchivedAsync(blobs, "run-1", "stage-a", 12, folder, CancellationToken.None));
        var first = blobs.Puts.ToHashSet();
        Assert.Equal(3, first.Count);

        blobs.Puts.Clear();
        var result = await CheckpointArchiver.ArchiveAsync(blobs, "run-1", "stage-a", 12, folder, parallelism: 4, CancellationToken.None);

        Assert.Equal((names.Length, 3), (result.Files, result.Skipped));
        Assert.Equal(names.Length - 3, blobs.Puts.Count);
        Assert.Empty(blobs.Puts.Intersect(first));
        Assert.True(await CheckpointArchiver.IsArchivedAsync(blobs, "run-1", "stage-a", 12, folder, CancellationToken.None));
        foreach (var name in names)
        {
            Assert.Equal(new FileInfo(Path.Combine(folder, name)).Length, await blobs.GetLengthAsync("checkpoints/run-1/stage-a/step_0000012/" + name, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_step_retrained_after_a_rollback_is_archived_again_whole_even_where_its_files_keep_their_sizes()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "step_0000012");
        Directory.CreateDirectory(folder);
        var names = new[] { "COMPLETE", "model.safetensors", "trainer_state.json" };
        foreach (var name in names)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, name), name == "trainer_state.json" ? "{\"step\":12,\"loss\":5.25}" : "old " + name);
        }

        using var never = new CancellationTokenSource();
        var blobs = new ObservedBlobStore(new FolderBlobStore(Path.Combine(temp.Path, "blobs")), afterPuts: int.MaxValue, never);
        await CheckpointArchiver.ArchiveAsync(blobs, "run-1", "stage-a", 12, folder, parallelism: 2, CancellationToken.None);
        Assert.True(await CheckpointArchiver.IsArchivedAsync(blobs, "run-1", "stage-a", 12, folder, CancellationToken.None));

        // The rollback set the old folder aside and the trainer wrote step 12 again: same names, same sizes, other bytes.
        await File.WriteAllTextAsync(Path.Combine(folder, "model.safetensors"), "new model.safetensors");
        await File.WriteAllTextAsync(Path.Combine(folder, "trainer_state.json"), "{\"step\":12,\"loss\":4.75}");
        Assert.False(await CheckpointArchiver.IsArchivedAsync(blobs, "run-1", "stage-a", 12, folder, CancellationToken.None));

        blobs.Puts.Clear();
        var result = await CheckpointArchiver.ArchiveAsync(blobs, "run-1", "stage-a", 12, folder, parallelism: 2, CancellationToken.None);

        Assert.Equal(0, result.Skipped);
        Assert.Equal(names.Length, blobs.Puts.Count);
        Assert.True(await CheckpointArchiver.IsArchivedAsync(blobs, "run-1", "stage-a", 12, folder, CancellationToken.None));
        await using var model = await blobs.OpenReadAsync("checkpoints/run-1/stage-a/step_0000012/model.safetensors", CancellationToken.None);
        Assert.Equal("new model.safetensors", await new StreamReader(model).ReadToEndAsync());
    }

    [Theory]
    [InlineData("..", "stage-a")]
    [InlineData("run-1", "a/b")]
    [InlineData("run-1", "")]
    public void Names_that_would_leave_the_key_space_are_refused(string runId, string stage) =>
        Assert.Throws<ArgumentException>(() => CheckpointArchiver.PrefixOf(runId, stage, 1));

    /// <summary>The real store, with the keys written through it recorded; after <c>afterPuts</c> file puts it cuts the token (an interruption).</summary>
    private sealed class ObservedBlobStore(IBlobStore inner, int afterPuts, CancellationTokenSource cut) : IBlobStore
    {
        public ConcurrentQueue<string> Puts { get; } = new();

        public Task PutAsync(string key, Stream content, CancellationToken cancellationToken) => inner.PutAsync(key, content, cancellationToken);

        public async Task PutFileAsync(string key, string localPath, bool move, CancellationToken cancellationToken)
        {
            await inner.PutFileAsync(key, localPath, move, cancellationToken);
            Puts.Enqueue(key);
            if (Puts.Count == afterPuts)
            {
                await cut.CancelAsync();
            }
        }

        public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken) => inner.OpenReadAsync(key, cancellationToken);
        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);
        public Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken) => inner.GetLengthAsync(key, cancellationToken);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
        public Task<string> GetLocalPathAsync(string key, CancellationToken cancellationToken) => inner.GetLocalPathAsync(key, cancellationToken);
    }
}
