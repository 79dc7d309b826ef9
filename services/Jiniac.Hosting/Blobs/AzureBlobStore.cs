using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Jiniac.Hosting.Blobs;

/// <summary>
/// The distributed topology's blob store: one block blob per key in one container of Azure Blob Storage
/// (Azurite locally). A put streams its source in blocks and commits the block list last, so a reader sees
/// the old blob or the whole new one, never a part; staged blocks of a put that failed stay uncommitted and
/// invisible (the service drops them after a week).
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    /// <summary>Blocks are staged this large (the service allows 4000 MiB each, 50,000 per blob: 400 GB blobs).</summary>
    public const int DefaultBlockSize = 8 << 20;

    /// <summary>Blocks uploading at once: keeps the link busy while the next block is read from the source.</summary>
    private const int BlocksInFlight = 4;

    private readonly BlobContainerClient _container;
    private readonly string _cacheRoot;
    private readonly int _blockSize;
    private readonly int? _listPageSize;
    private bool _containerReady;

    /// <param name="cacheRoot">Where <see cref="GetLocalPathAsync"/> downloads blobs for tools that need a path.</param>
    /// <param name="listPageSize">Keys per listing request (the service's default, 5000, when null).</param>
    public AzureBlobStore(BlobContainerClient container, string cacheRoot, int blockSize = DefaultBlockSize, int? listPageSize = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        _listPageSize = listPageSize;
        _container = container;
        _cacheRoot = Path.GetFullPath(cacheRoot);
        _blockSize = blockSize;
    }

    public AzureBlobStore(string connectionString, string containerName, string cacheRoot, int blockSize = DefaultBlockSize)
        : this(new BlobContainerClient(connectionString, containerName), cacheRoot, blockSize)
    {
    }

    public string ContainerName => _container.Name;

    public string CacheRoot => _cacheRoot;

    public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient(BlobKey.Validate(key));
        await EnsureContainerAsync(key, cancellationToken);
        var first = ArrayPool<byte>.Shared.Rent(_blockSize);
        try
        {
            var length = await ReadBlockAsync(content, first, cancellationToken);
            if (length < _blockSize)
            {
                // One read emptied the source: a single Put Blob is as atomic as a block list and one round trip.
                await Call(key, "put", () => blob.UploadAsync(new MemoryStream(first, 0, length, writable: false), cancellationToken: cancellationToken));
                return;
            }

            // The first buffer now belongs to the block staging, which returns it to the pool.
            var owned = first;
            first = null;
            await PutBlocksAsync(key, blob, content, owned, length, cancellationToken);
        }
        finally
        {
            if (first is not null)
            {
                ArrayPool<byte>.Shared.Return(first);
            }
        }
    }

    /// <summary>Stages the source block by block (a few in flight, each from a pooled buffer) and commits them at the end.</summary>
    private async Task PutBlocksAsync(string key, BlockBlobClient blob, Stream content, byte[] first, int firstLength, CancellationToken cancellationToken)
    {
        // Ids unique to this put: two puts of one key at once stage disjoint blocks and the last commit wins whole.
        var upload = Guid.NewGuid().ToString("N");
        var ids = new List<string>();
        var inFlight = new List<Task>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var buffer = first;
        var length = firstLength;
        try
        {
            while (true)
            {
                var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{ids.Count:D6}"));
                ids.Add(id);
                inFlight.Add(StageAsync(key, blob, id, buffer, length, failed.Token));
                buffer = null;
                if (length < _blockSize)
                {
                    break;
                }

                if (inFlight.Count >= BlocksInFlight)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    await done;
                }

                buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
                length = await ReadBlockAsync(content, buffer, cancellationToken);
                if (length == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    break;
                }
            }

            await Task.WhenAll(inFlight);
        }
        catch
        {
            // The source or a stage failed: stop the other stages and wait for them (they hold pooled buffers);
            // nothing was committed, so the key still holds its previous blob or none.
            await failed.CancelAsync();
            await Task.WhenAll(inFlight).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            throw;
        }

        await Call(key, "commit", () => blob.CommitBlockListAsync(ids, cancellationToken: cancellationToken));
    }

    private static async Task StageAsync(string key, BlockBlobClient blob, string id, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        try
        {
            await Call(key, "stage a block of", () => blob.StageBlockAsync(id, new MemoryStream(buffer, 0, length, writable: false), cancellationToken: cancellationToken));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Fills the buffer up to the block size unless the source ends first; a block is never short mid-blob.</summary>
    private async Task<int> ReadBlockAsync(Stream content, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (length < _blockSize)
        {
            var n = await content.ReadAsync(buffer.AsMemory(length, _blockSize - length), cancellationToken);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        return length;
    }

    public async Task PutFileAsync(string key, string localPath, bool move, CancellationToken cancellationToken)
    {
        BlobKey.Validate(key);
        await using (var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            await PutAsync(key, source, cancellationToken);
        }

        if (move)
        {
            // The caller gave the file up; once the blob is committed the local copy is only disk used.
            File.Delete(localPath);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            // One streaming GET; the SDK resumes a broken download at its offset, pinned to this version's ETag.
            var response = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            return response.Value.Content;
        }
        catch (RequestFailedException e) when (IsNotFound(e))
        {
            throw new BlobNotFoundException(key);
        }
        catch (RequestFailedException e)
        {
            throw Failure(key, "read", e);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) =>
        await GetLengthAsync(key, cancellationToken) is not null;

    public async Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken)
    {
        var properties = await PropertiesAsync(key, _container.GetBlobClient(BlobKey.Validate(key)), cancellationToken);
        return properties?.ContentLength;
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        BlobKey.ValidatePrefix(prefix);
        var pages = _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix.Length == 0 ? null : prefix, cancellationToken).AsPages(pageSizeHint: _listPageSize).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                Page<BlobItem> page;
                try
                {
                    if (!await pages.MoveNextAsync())
                    {
                        yield break;
                    }

                    page = pages.Current;
                }
                catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
                {
                    // Nothing was ever put: an empty store, as an empty folder is.
                    yield break;
                }
                catch (RequestFailedException e)
                {
                    throw new IOException($"blob prefix '{prefix}': listing container '{_container.Name}' failed: {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}", e);
                }

                // The service lists in UTF-8 byte order, which is ordinal order for the ASCII keys BlobKey allows.
                foreach (var item in page.Values)
                {
                    yield return item.Name;
                }
            }
        }
        finally
        {
            await pages.DisposeAsync();
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // Deleting is idempotent: in a container never created, the key is already gone.
        }
        catch (RequestFailedException e)
        {
            throw Failure(key, "delete", e);
        }
    }

    /// <summary>
    /// Downloads the blob to the cache (under its own key, so siblings like a .bin and its .idx sit side by
    /// side) unless the cached copy is of the blob's current version, which a sidecar ETag file records.
    /// </summary>
    public async Task<string> GetLocalPathAsync(string key, CancellationToken cancellationToken)
    {
        var relative = BlobKey.Validate(key).Replace('/', Path.DirectorySeparatorChar);
        var path = Path.Combine(_cacheRoot, relative);
        var etagPath = Path.Combine(_cacheRoot, ".etags", relative);
        var blob = _container.GetBlobClient(key);
        var properties = await PropertiesAsync(key, blob, cancellationToken) ?? throw new BlobNotFoundException(key);
        var etag = properties.ETag.ToString();
        if (File.Exists(path) && File.Exists(etagPath) && await File.ReadAllTextAsync(etagPath, cancellationToken) == etag)
        {
            return path;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Directory.CreateDirectory(Path.GetDirectoryName(etagPath)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp~";
        try
        {
            await Call(key, "download", () => blob.DownloadToAsync(temp, new BlobRequestConditions { IfMatch = properties.ETag }, cancellationToken: cancellationToken));
            File.Move(temp, path, overwrite: true);
            await File.WriteAllTextAsync(etagPath, etag, cancellationToken);
        }
        finally
        {
            File.Delete(temp);
        }

        return path;
    }

    private static async Task<BlobProperties?> PropertiesAsync(string key, BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (IsNotFound(e))
        {
            return null;
        }
        catch (RequestFailedException e)
        {
            throw Failure(key, "read the properties of", e);
        }
    }

    /// <summary>Creates the container on the first put (idempotent, so two first puts racing are harmless).</summary>
    private async Task EnsureContainerAsync(string key, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady))
        {
            return;
        }

        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e)
        {
            throw new IOException($"blob '{key}': could not create container '{_container.Name}' on Azure Blob Storage: {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}", e);
        }

        Volatile.Write(ref _containerReady, true);
    }

    private static bool IsNotFound(RequestFailedException e) => e.Status == 404;

    private static async Task Call<T>(string key, string what, Func<Task<T>> call)
    {
        try
        {
            await call();
        }
        catch (RequestFailedException e)
        {
            throw Failure(key, what, e);
        }
    }

    private static IOException Failure(string key, string what, RequestFailedException e) =>
        new($"blob '{key}': could not {what} it on Azure Blob Storage: {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}", e);

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
