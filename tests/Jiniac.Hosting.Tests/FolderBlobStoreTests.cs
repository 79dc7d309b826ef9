using System.Text;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Hosting.Tests;

public sealed class FolderBlobStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FolderBlobStore _store;
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromMinutes(2));
    private readonly CancellationToken _ct;

    public FolderBlobStoreTests()
    {
        _store = new FolderBlobStore(_folder.PathOf("blobs"));
        _ct = _deadline.Token;
    }

    public void Dispose()
    {
        _deadline.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_blob_put_is_read_back_byte_for_byte()
    {
        var bytes = RandomBytes(200_000, seed: 1);

        await _store.PutAsync("runs/r1/shards/000.jsonl", new MemoryStream(bytes), _ct);

        Assert.True(await _store.ExistsAsync("runs/r1/shards/000.jsonl", _ct));
        Assert.Equal(bytes.Length, await _store.GetLengthAsync("runs/r1/shards/000.jsonl", _ct));
        Assert.Equal(bytes, await ReadAll("runs/r1/shards/000.jsonl"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(_folder.PathOf("blobs/runs/r1/shards/000.jsonl"), _ct));
        Assert.Equal(["blobs/runs/r1/shards/000.jsonl"], _folder.Files());
    }

    [Fact]
    public async Task A_second_put_replaces_the_blob()
    {
        await Put("a/b", "first version, longer");
        await Put("a/b", "second");

        Assert.Equal("second", Encoding.UTF8.GetString(await ReadAll("a/b")));
        Assert.Equal(6, await _store.GetLengthAsync("a/b", _ct));
        Assert.Equal(["blobs/a/b"], _folder.Files());
    }

    [Fact]
    public async Task A_missing_blob_reads_as_not_found()
    {
        await Put("a/b/c", "x");

        foreach (var key in new[] { "a/x", "nothing/here", "a/b" })
        {
            var e = await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync(key, _ct));
            Assert.Equal(key, e.Key);
            Assert.Equal(key, (await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.GetLocalPathAsync(key, _ct))).Key);
            Assert.False(await _store.ExistsAsync(key, _ct));
            Assert.Null(await _store.GetLengthAsync(key, _ct));
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
        File.WriteAllText(_folder.PathOf("secret.txt"), "outside");

        await Assert.ThrowsAsync<ArgumentException>(() => List("../"));
        await Assert.ThrowsAsync<ArgumentException>(() => List("a/../../"));
        await Assert.ThrowsAsync<ArgumentException>(() => List("/etc/"));
    }

    [Fact]
    public async Task A_write_in_progress_is_invisible_under_its_key()
    {
        var gate = new TaskCompletionSource();
        var source = new GatedStream(Encoding.UTF8.GetBytes("half "), Encoding.UTF8.GetBytes("and the rest"), gate.Task);

        var put = _store.PutAsync("a/blob", source, _ct);
        await source.Midway.WaitAsync(TimeSpan.FromSeconds(30), _ct);

        Assert.False(await _store.ExistsAsync("a/blob", _ct));
        Assert.Null(await _store.GetLengthAsync("a/blob", _ct));
        Assert.Empty(await List(""));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync("a/blob", _ct));

        gate.SetResult();
        await put.WaitAsync(TimeSpan.FromSeconds(30), _ct);

        Assert.Equal("half and the rest", Encoding.UTF8.GetString(await ReadAll("a/blob")));
        Assert.Equal(["a/blob"], await List(""));
        Assert.Equal(["blobs/a/blob"], _folder.Files());
    }

    [Fact]
    public async Task A_source_that_fails_midway_leaves_no_partial_blob_and_no_temp_file()
    {
        var source = new GatedStream(Encoding.UTF8.GetBytes("half "), [], Task.CompletedTask, new IOException("the source broke"));

        var e = await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("a/blob", source, _ct));

        Assert.Equal("the source broke", e.Message);
        Assert.False(await _store.ExistsAsync("a/blob", _ct));
        Assert.Empty(_folder.Files());
    }

    [Fact]
    public async Task A_failed_overwrite_keeps_the_previous_blob()
    {
        await Put("a/blob", "version 1");
        var source = new GatedStream(Encoding.UTF8.GetBytes("version 2 (cut"), [], Task.CompletedTask, new IOException("the source broke"));

        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("a/blob", source, _ct));

        Assert.Equal("version 1", Encoding.UTF8.GetString(await ReadAll("a/blob")));
        Assert.Equal(["blobs/a/blob"], _folder.Files());
    }

    [Fact]
    public async Task Delete_removes_the_blob_and_is_idempotent()
    {
        await Put("a/b", "x");
        await Put("a/c", "y");

        await _store.DeleteAsync("a/b", _ct);
        await _store.DeleteAsync("a/b", _ct);
        await _store.DeleteAsync("never/was/here", _ct);

        Assert.False(await _store.ExistsAsync("a/b", _ct));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync("a/b", _ct));
        Assert.Equal(["a/c"], await List(""));
    }

    [Fact]
    public async Task PutFile_with_move_takes_the_file_and_without_copies_it()
    {
        var bytes = RandomBytes(70_000, seed: 2);
        var moved = _folder.PathOf("work/moved.bin");
        var copied = _folder.PathOf("work/copied.bin");
        Directory.CreateDirectory(_folder.PathOf("work"));
        await File.WriteAllBytesAsync(moved, bytes, _ct);
        await File.WriteAllBytesAsync(copied, bytes, _ct);

        await _store.PutFileAsync("ds/moved.bin", moved, move: true, _ct);
        await _store.PutFileAsync("ds/copied.bin", copied, move: false, _ct);

        Assert.False(File.Exists(moved));
        Assert.True(File.Exists(copied));
        Assert.Equal(bytes, await ReadAll("ds/moved.bin"));
        Assert.Equal(bytes, await ReadAll("ds/copied.bin"));
        Assert.Equal(["blobs/ds/copied.bin", "blobs/ds/moved.bin", "work/copied.bin"], _folder.Files());
    }

    [Fact]
    public async Task PutFile_with_move_replaces_an_existing_blob()
    {
        await Put("ds/x.bin", "old");
        var local = _folder.PathOf("new.bin");
        await File.WriteAllTextAsync(local, "new content", _ct);

        await _store.PutFileAsync("ds/x.bin", local, move: true, _ct);

        Assert.Equal("new content", Encoding.UTF8.GetString(await ReadAll("ds/x.bin")));
        Assert.Equal(["blobs/ds/x.bin"], _folder.Files());
    }

    [Fact]
    public async Task The_local_path_of_a_folder_blob_is_the_blob_itself()
    {
        await Put("ds/data.bin", "bytes");

        var path = await _store.GetLocalPathAsync("ds/data.bin", _ct);

        Assert.Equal(Path.Combine(_store.Root, "ds", "data.bin"), path);
        Assert.Equal("bytes", await File.ReadAllTextAsync(path, _ct));
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
        await Assert.ThrowsAsync<ArgumentException>(() => _store.PutAsync(key, new MemoryStream([1, 2, 3]), _ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.OpenReadAsync(key, _ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.DeleteAsync(key, _ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ExistsAsync(key, _ct));

        Assert.Empty(_folder.Files());
    }

    private async Task Put(string key, string text) => await _store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(text)), _ct);

    private async Task<byte[]> ReadAll(string key)
    {
        await using var stream = await _store.OpenReadAsync(key, _ct);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, _ct);
        return buffer.ToArray();
    }

    private async Task<string[]> List(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in _store.ListAsync(prefix, _ct))
        {
            keys.Add(key);
        }

        return [.. keys];
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
