using System.Text;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Hosting.Tests;

/// <summary>
/// What every <see cref="IBlobStore"/> promises, run against each store (FolderBlobStoreTests,
/// AzureBlobStoreTests) so they cannot drift apart.
/// </summary>
public abstract class BlobStoreContract : IDisposable
{
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromMinutes(2));

    protected BlobStoreContract()
    {
        Ct = _deadline.Token;
    }

    protected CancellationToken Ct { get; }

    /// <summary>Scratch space for local files (PutFile's sources); a folder store keeps its blobs under blobs/ here.</summary>
    protected TempFolder Folder { get; } = new();

    protected abstract IBlobStore Store { get; }

    /// <summary>Everything the store holds, sorted: its blobs and anything a write left behind (temp files).</summary>
    protected abstract Task<string[]> StoredAsync();

    public virtual void Dispose()
    {
        _deadline.Dispose();
        Folder.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task A_new_store_is_empty_and_deleting_in_it_is_harmless()
    {
        Assert.Empty(await List(""));
        Assert.False(await Store.ExistsAsync("a/b", Ct));
        await Store.DeleteAsync("a/b", Ct);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task A_blob_put_is_read_back_byte_for_byte()
    {
        var bytes = RandomBytes(200_000, seed: 1);

        await Store.PutAsync("runs/r1/shards/000.jsonl", new MemoryStream(bytes), Ct);

        Assert.True(await Store.ExistsAsync("runs/r1/shards/000.jsonl", Ct));
        Assert.Equal(bytes.Length, await Store.GetLengthAsync("runs/r1/shards/000.jsonl", Ct));
        Assert.Equal(bytes, await ReadAll("runs/r1/shards/000.jsonl"));
        Assert.Equal(["runs/r1/shards/000.jsonl"], await StoredAsync());
    }

    [Fact]
    public async Task A_second_put_replaces_the_blob()
    {
        await Put("a/b", "first version, longer");
        await Put("a/b", "second");

        Assert.Equal("second", Encoding.UTF8.GetString(await ReadAll("a/b")));
        Assert.Equal(6, await Store.GetLengthAsync("a/b", Ct));
        Assert.Equal(["a/b"], await StoredAsync());
    }

    [Fact]
    public async Task A_missing_blob_reads_as_not_found()
    {
        await Put("a/b/c", "x");

        foreach (var key in new[] { "a/x", "nothing/here", "a/b" })
        {
            var e = await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync(key, Ct));
            Assert.Equal(key, e.Key);
            Assert.Equal(key, (await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.GetLocalPathAsync(key, Ct))).Key);
            Assert.False(await Store.ExistsAsync(key, Ct));
            Assert.Null(await Store.GetLengthAsync(key, Ct));
        }
    }

    [Fact]
    public async Task Listing_matches_whole_key_prefixes_in_ordinal_order()
    {
        foreach (var key in new[] { "runs/r1/b/c", "runs/r10/x", "runs/r1/a", "runs/r2/y", "other", "runs/r1/B" })
        {
            await Put(key, key);
        }

        Assert.Equal(["other", "runs/r1/B", "runs/r1/a", "runs/r1/b/c", "runs/r10/x", "runs/r2/y"], await List(""));
        Assert.Equal(["runs/r1/B", "runs/r1/a", "runs/r1/b/c", "runs/r10/x"], await List("runs/r1"));
        Assert.Equal(["runs/r1/B", "runs/r1/a", "runs/r1/b/c"], await List("runs/r1/"));
        Assert.Equal(["runs/r1/b/c"], await List("runs/r1/b"));
        Assert.Equal(["runs/r1/b/c"], await List("runs/r1/b/c"));
        Assert.Equal(["other"], await List("o"));
        Assert.Empty(await List("nope/"));
        Assert.Empty(await List("runs/r3"));
        Assert.Empty(await List("other/"));
    }

    [Fact]
    public async Task A_listing_prefix_cannot_reach_outside_the_store()
    {
        File.WriteAllText(Folder.PathOf("secret.txt"), "outside");

        await Assert.ThrowsAsync<ArgumentException>(() => List("../"));
        await Assert.ThrowsAsync<ArgumentException>(() => List("a/../../"));
        await Assert.ThrowsAsync<ArgumentException>(() => List("/etc/"));
    }

    [Fact]
    public async Task A_write_in_progress_is_invisible_under_its_key()
    {
        var gate = new TaskCompletionSource();
        var source = new GatedStream(Encoding.UTF8.GetBytes("half "), Encoding.UTF8.GetBytes("and the rest"), gate.Task);

        var put = Store.PutAsync("a/blob", source, Ct);
        await source.Midway.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.False(await Store.ExistsAsync("a/blob", Ct));
        Assert.Null(await Store.GetLengthAsync("a/blob", Ct));
        Assert.Empty(await List(""));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync("a/blob", Ct));

        gate.SetResult();
        await put.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal("half and the rest", Encoding.UTF8.GetString(await ReadAll("a/blob")));
        Assert.Equal(["a/blob"], await List(""));
        Assert.Equal(["a/blob"], await StoredAsync());
    }

    [Fact]
    public async Task A_source_that_fails_midway_leaves_no_partial_blob_and_no_temp_file()
    {
        var source = new GatedStream(Encoding.UTF8.GetBytes("half "), [], Task.CompletedTask, new IOException("the source broke"));

        var e = await Assert.ThrowsAsync<IOException>(() => Store.PutAsync("a/blob", source, Ct));

        Assert.Equal("the source broke", e.Message);
        Assert.False(await Store.ExistsAsync("a/blob", Ct));
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task A_failed_overwrite_keeps_the_previous_blob()
    {
        await Put("a/blob", "version 1");
        var source = new GatedStream(Encoding.UTF8.GetBytes("version 2 (cut"), [], Task.CompletedTask, new IOException("the source broke"));

        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync("a/blob", source, Ct));

        Assert.Equal("version 1", Encoding.UTF8.GetString(await ReadAll("a/blob")));
        Assert.Equal(["a/blob"], await StoredAsync());
    }

    [Fact]
    public async Task Delete_removes_the_blob_and_is_idempotent()
    {
        await Put("a/b", "x");
        await Put("a/c", "y");

        await Store.DeleteAsync("a/b", Ct);
        await Store.DeleteAsync("a/b", Ct);
        await Store.DeleteAsync("never/was/here", Ct);

        Assert.False(await Store.ExistsAsync("a/b", Ct));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync("a/b", Ct));
        Assert.Equal(["a/c"], await List(""));
    }

    [Fact]
    public async Task PutFile_with_move_takes_the_file_and_without_copies_it()
    {
        var bytes = RandomBytes(70_000, seed: 2);
        var moved = Folder.PathOf("work/moved.bin");
        var copied = Folder.PathOf("work/copied.bin");
        Directory.CreateDirectory(Folder.PathOf("work"));
        await File.WriteAllBytesAsync(moved, bytes, Ct);
        await File.WriteAllBytesAsync(copied, bytes, Ct);

        await Store.PutFileAsync("ds/moved.bin", moved, move: true, Ct);
        await Store.PutFileAsync("ds/copied.bin", copied, move: false, Ct);

        Assert.False(File.Exists(moved));
        Assert.True(File.Exists(copied));
        Assert.Equal(bytes, await ReadAll("ds/moved.bin"));
        Assert.Equal(bytes, await ReadAll("ds/copied.bin"));
        Assert.Equal(["ds/copied.bin", "ds/moved.bin"], await StoredAsync());
        Assert.Equal(["work/copied.bin"], Folder.Files("work"));
    }

    [Fact]
    public async Task PutFile_with_move_replaces_an_existing_blob()
    {
        await Put("ds/x.bin", "old");
        var local = Folder.PathOf("new.bin");
        await File.WriteAllTextAsync(local, "new content", Ct);

        await Store.PutFileAsync("ds/x.bin", local, move: true, Ct);

        Assert.Equal("new content", Encoding.UTF8.GetString(await ReadAll("ds/x.bin")));
        Assert.False(File.Exists(local));
        Assert.Equal(["ds/x.bin"], await StoredAsync());
    }

    [Fact]
    public async Task A_local_path_holds_the_blobs_current_bytes()
    {
        await Put("ds/data.bin", "bytes");
        Assert.Equal("bytes", await File.ReadAllTextAsync(await Store.GetLocalPathAsync("ds/data.bin", Ct), Ct));

        await Put("ds/data.bin", "other bytes");

        Assert.Equal("other bytes", await File.ReadAllTextAsync(await Store.GetLocalPathAsync("ds/data.bin", Ct), Ct));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("")]
    [InlineData("a/./b")]
    [InlineData("a/b c")]
    public async Task An_unsafe_key_is_refused_and_nothing_is_written(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream([1, 2, 3]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync(key, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(key, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ExistsAsync(key, Ct));

        Assert.Empty(await StoredAsync());
    }

    protected async Task Put(string key, string text) => await Store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(text)), Ct);

    protected async Task<byte[]> ReadAll(string key)
    {
        await using var stream = await Store.OpenReadAsync(key, Ct);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, Ct);
        return buffer.ToArray();
    }

    protected async Task<string[]> List(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in Store.ListAsync(prefix, Ct))
        {
            keys.Add(key);
        }

        return [.. keys];
    }

    protected static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
