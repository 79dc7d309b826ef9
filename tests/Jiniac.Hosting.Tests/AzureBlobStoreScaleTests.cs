using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Hosting.Tests;

/// <summary>What only a remote store has to get right: large streamed blobs, paged listings, a server restart.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreScaleTests : IDisposable
{
    private readonly AzuriteFixture _azurite;
    private readonly TempFolder _folder = new();
    private readonly BlobContainerClient _container;
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromMinutes(5));

    public AzureBlobStoreScaleTests(AzuriteFixture azurite)
    {
        _azurite = azurite;
        _container = new BlobContainerClient(azurite.ConnectionString, $"s{Guid.NewGuid():N}");
    }

    private CancellationToken Ct => _deadline.Token;

    public void Dispose()
    {
        new BlobContainerClient(_azurite.ConnectionString, _container.Name).DeleteIfExists();
        _deadline.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_64_MB_blob_streams_up_in_blocks_and_back_byte_for_byte()
    {
        const long length = (64L << 20) + 12_345;
        var store = new AzureBlobStore(_container, _folder.PathOf("cache"));

        // A source that makes its bytes as it is read: the store must stream it, it cannot have it whole.
        await store.PutAsync("ds/big.bin", new PatternStream(length, seed: 7), Ct);

        var blocks = (await _container.GetBlockBlobClient("ds/big.bin").GetBlockListAsync(cancellationToken: Ct)).Value;
        Assert.Equal(9, blocks.CommittedBlocks.Count());
        Assert.Equal(length, await store.GetLengthAsync("ds/big.bin", Ct));
        await using (var read = await store.OpenReadAsync("ds/big.bin", Ct))
        {
            Assert.Equal(await Sha256(new PatternStream(length, seed: 7)), await Sha256(read));
        }

        var local = await store.GetLocalPathAsync("ds/big.bin", Ct);
        Assert.Equal(length, new FileInfo(local).Length);
        await using (var file = File.OpenRead(local))
        {
            Assert.Equal(await Sha256(new PatternStream(length, seed: 7)), await Sha256(file));
        }
    }

    [Fact]
    public async Task A_listing_of_many_keys_follows_every_page_in_order()
    {
        var store = new AzureBlobStore(_container, _folder.PathOf("cache"), listPageSize: 50);
        var keys = Enumerable.Range(0, 1_030).Select(i => $"runs/r1/shards/{i:D5}.jsonl").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (key, ct) => await store.PutAsync(key, new MemoryStream([1]), ct));
        await store.PutAsync("runs/r2/other", new MemoryStream([2]), Ct);

        var listed = new List<string>();
        await foreach (var key in store.ListAsync("runs/r1/", Ct))
        {
            listed.Add(key);
        }

        Assert.Equal(keys, listed);
    }

    [Fact]
    public async Task Blobs_survive_a_restart_of_the_server()
    {
        var store = new AzureBlobStore(_container, _folder.PathOf("cache"), blockSize: 64 << 10);
        var bytes = new byte[300_000];
        new Random(5).NextBytes(bytes);
        await store.PutAsync("ckpt/step_0000100/model.bin", new MemoryStream(bytes), Ct);

        await _azurite.RestartAsync();

        var after = new AzureBlobStore(new BlobContainerClient(_azurite.ConnectionString, _container.Name), _folder.PathOf("cache2"));
        Assert.Equal(bytes.Length, await after.GetLengthAsync("ckpt/step_0000100/model.bin", Ct));
        await using (var read = await after.OpenReadAsync("ckpt/step_0000100/model.bin", Ct))
        {
            var copy = new MemoryStream();
            await read.CopyToAsync(copy, Ct);
            Assert.Equal(bytes, copy.ToArray());
        }

        await after.PutAsync("ckpt/step_0000200/model.bin", new MemoryStream([9]), Ct);
        var listed = new List<string>();
        await foreach (var key in after.ListAsync("ckpt/", Ct))
        {
            listed.Add(key);
        }

        Assert.Equal(["ckpt/step_0000100/model.bin", "ckpt/step_0000200/model.bin"], listed);
    }

    private static async Task<string> Sha256(Stream stream) =>
        Convert.ToHexString(await SHA256.HashDataAsync(stream));
}

/// <summary>A non-seekable stream of <c>length</c> pseudo-random bytes, made as they are read (xorshift from a seed).</summary>
internal sealed class PatternStream(long length, ulong seed) : Stream
{
    private ulong _state = seed * 0x9E3779B97F4A7C15UL + 1;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < n; i++)
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            buffer[i] = (byte)_state;
        }

        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
