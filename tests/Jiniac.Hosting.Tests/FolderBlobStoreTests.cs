using Jiniac.Hosting.Blobs;

namespace Jiniac.Hosting.Tests;

/// <summary>The blob store contract on the folder store, and what only a folder store does (its blobs are plain files).</summary>
public sealed class FolderBlobStoreTests : BlobStoreContract
{
    private readonly FolderBlobStore _store;

    public FolderBlobStoreTests()
    {
        _store = new FolderBlobStore(Folder.PathOf("blobs"));
    }

    protected override IBlobStore Store => _store;

    protected override Task<string[]> StoredAsync() =>
        Task.FromResult(Folder.Files("blobs").Select(f => f["blobs/".Length..]).ToArray());

    [Fact]
    public async Task A_blob_is_a_plain_file_under_the_root()
    {
        var bytes = RandomBytes(200_000, seed: 1);

        await _store.PutAsync("runs/r1/shards/000.jsonl", new MemoryStream(bytes), Ct);

        Assert.Equal(bytes, await File.ReadAllBytesAsync(Folder.PathOf("blobs/runs/r1/shards/000.jsonl"), Ct));
    }

    [Fact]
    public async Task The_local_path_of_a_folder_blob_is_the_blob_itself()
    {
        await Put("ds/data.bin", "bytes");

        var path = await _store.GetLocalPathAsync("ds/data.bin", Ct);

        Assert.Equal(Path.Combine(_store.Root, "ds", "data.bin"), path);
        Assert.Equal("bytes", await File.ReadAllTextAsync(path, Ct));
    }
}
