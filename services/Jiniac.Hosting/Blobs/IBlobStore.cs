namespace Jiniac.Hosting.Blobs;

/// <summary>
/// Bulk data (shards, tokenized datasets, tokenizers, reports) by key. Keys are '/'-separated
/// relative paths of safe segments (see <see cref="BlobKey"/>). Writes are atomic: a reader sees
/// the whole blob or none of it.
/// </summary>
public interface IBlobStore
{
    Task PutAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>Writes the blob from a local file (moves it when the store is a folder on the same disk and <paramref name="move"/> is set).</summary>
    Task PutFileAsync(string key, string localPath, bool move, CancellationToken cancellationToken);

    /// <exception cref="BlobNotFoundException">when the key does not exist.</exception>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);

    /// <summary>Size in bytes, or null when absent.</summary>
    Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken);

    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// A local file with the blob's bytes, for tools that need a path (the trainer memory-maps
    /// .bin files). The folder store returns the blob itself; a remote store downloads to a cache.
    /// </summary>
    Task<string> GetLocalPathAsync(string key, CancellationToken cancellationToken);
}

public sealed class BlobNotFoundException(string key) : FileNotFoundException($"blob '{key}' does not exist", key)
{
    public string Key { get; } = key;
}
