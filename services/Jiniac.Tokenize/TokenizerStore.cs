using System.Collections.Concurrent;
using System.Security.Cryptography;
using Jiniac.Hosting.Blobs;
using Jiniac.Text.Bpe;

namespace Jiniac.Tokenize;

/// <summary>
/// Tokenizers in blob storage, content-addressed: <c>tokenizers/&lt;sha256 hex of the json bytes&gt;.json</c>.
/// Loaded tokenizers are kept by hash so every shard of a run shares one instance (and its pre-token cache).
/// </summary>
public sealed class TokenizerStore(IBlobStore blobs)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<BpeTokenizer>>> _loaded = new(StringComparer.Ordinal);

    public static string Hash(ReadOnlySpan<byte> json) => Convert.ToHexStringLower(SHA256.HashData(json));

    public static string KeyOf(string hash) => BlobKey.Combine("tokenizers", hash + ".json");

    /// <summary>Stores the bytes as they are (skipped when the content-addressed blob exists) and returns (key, hash).</summary>
    public async Task<(string Key, string Hash)> PutAsync(byte[] json, CancellationToken cancellationToken)
    {
        var hash = Hash(json);
        var key = KeyOf(hash);
        if (!await blobs.ExistsAsync(key, cancellationToken))
        {
            await blobs.PutAsync(key, new MemoryStream(json, writable: false), cancellationToken);
        }

        return (key, hash);
    }

    /// <summary>Loads a tokenizer blob, checking its bytes against <paramref name="hash"/>.</summary>
    /// <exception cref="InvalidDataException">the blob's hash differs.</exception>
    /// <exception cref="UnsupportedTokenizerException">the json is not supported.</exception>
    public Task<BpeTokenizer> GetAsync(string key, string hash, CancellationToken cancellationToken)
    {
        var lazy = _loaded.GetOrAdd(hash, _ => new Lazy<Task<BpeTokenizer>>(() => LoadAsync(key, hash, cancellationToken)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // Do not keep a failure: the next message may find the blob.
            _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<BpeTokenizer>>>(hash, lazy));
        }

        return task;
    }

    private async Task<BpeTokenizer> LoadAsync(string key, string hash, CancellationToken cancellationToken)
    {
        byte[] json;
        await using (var stream = await blobs.OpenReadAsync(key, cancellationToken))
        using (var ms = new MemoryStream())
        {
            await stream.CopyToAsync(ms, cancellationToken);
            json = ms.ToArray();
        }

        var actual = Hash(json);
        if (!string.Equals(actual, hash, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"tokenizer blob {key} has sha256 {actual}, not {hash}");
        }

        return BpeTokenizer.FromJson(json);
    }
}
