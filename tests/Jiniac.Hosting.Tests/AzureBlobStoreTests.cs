using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Hosting.Tests;

/// <summary>
/// The blob store contract on Azure Blob Storage (a real Azurite). Blocks are 64 KiB here so the contract's
/// 70-200 KB blobs go through block staging and commit, not only the single-put path.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreTests : BlobStoreContract
{
    private readonly BlobContainerClient _container;
    private readonly AzureBlobStore _store;

    public AzureBlobStoreTests(AzuriteFixture azurite)
    {
        // A container per test: tests see only their own blobs, as each folder-store test has its own folder.
        _container = new BlobContainerClient(azurite.ConnectionString, $"t{Guid.NewGuid():N}");
        _store = new AzureBlobStore(_container, Folder.PathOf("cache"), blockSize: 64 << 10);
    }

    protected override IBlobStore Store => _store;

    /// <summary>Committed blobs: staged blocks of an unfinished put are not blobs (the service drops them).</summary>
    protected override async Task<string[]> StoredAsync()
    {
        if (!await _container.ExistsAsync(Ct))
        {
            return [];
        }

        var names = new List<string>();
        await foreach (var item in _container.GetBlobsAsync(cancellationToken: Ct))
        {
            names.Add(item.Name);
        }

        return [.. names];
    }

    public override void Dispose()
    {
        _container.DeleteIfExists();
        base.Dispose();
    }

    [Fact]
    public async Task A_blob_larger_than_a_block_is_committed_from_staged_blocks()
    {
        var bytes = RandomBytes((64 << 10) * 3 + 5, seed: 3);

        await _store.PutAsync("ds/blocks.bin", new MemoryStream(bytes), Ct);

        var blocks = (await _container.GetBlockBlobClient("ds/blocks.bin").GetBlockListAsync(cancellationToken: Ct)).Value;
        Assert.Equal([64 << 10, 64 << 10, 64 << 10, 5], blocks.CommittedBlocks.Select(b => b.SizeLong));
        Assert.Equal(bytes, await ReadAll("ds/blocks.bin"));
    }

    [Fact]
    public async Task A_source_that_fails_after_staged_blocks_commits_nothing()
    {
        await Put("ds/blocks.bin", "version 1");
        var source = new GatedStream(RandomBytes((64 << 10) * 3 + 10, seed: 4), [], Task.CompletedTask, new IOException("the source broke"));

        var e = await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("ds/blocks.bin", source, Ct));

        Assert.Equal("the source broke", e.Message);
        Assert.Equal("version 1", System.Text.Encoding.UTF8.GetString(await ReadAll("ds/blocks.bin")));
        // Version 1 went up in one Put Blob, so it has no committed blocks; a commit of the staged ones would show.
        // (How many staged blocks remain uncommitted depends on how far the cancelled stages got.)
        var blocks = (await _container.GetBlockBlobClient("ds/blocks.bin").GetBlockListAsync(BlockListTypes.All, cancellationToken: Ct)).Value;
        Assert.Empty(blocks.CommittedBlocks);
        Assert.Equal(9, await _store.GetLengthAsync("ds/blocks.bin", Ct));
    }

    [Fact]
    public async Task A_store_whose_server_is_unreachable_fails_naming_the_key()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        var nowhere = new BlobContainerClient(new Uri("http://127.0.0.1:9/devstoreaccount1/c"), options);
        var store = new AzureBlobStore(nowhere, Folder.PathOf("cache2"));

        var put = await Assert.ThrowsAsync<IOException>(() => store.PutAsync("runs/r1/x.bin", new MemoryStream([1]), Ct));
        var read = await Assert.ThrowsAsync<IOException>(() => store.OpenReadAsync("runs/r1/y.bin", Ct));

        Assert.Contains("'runs/r1/x.bin'", put.Message);
        Assert.Contains("'runs/r1/y.bin'", read.Message);
    }
}
