using System.Collections.Concurrent;
using System.Security.Cryptography;
using Jiniac.Hosting.Blobs;
using Jiniac.Text;
using Jiniac.Text.Bpe;

namespace Jiniac.Tokenize;

/// <summary>
/// Tokenizers in blob storage, content-addressed: <c>tokenizers/&lt;sha256 hex of the bytes&gt;.json</c> for a tokenizer.json,
/// <c>.model</c> for SentencePiece, <c>.NAME.tiktoken</c> for tiktoken (whose hash covers the encoding name too, since
/// the same ranks under another encoding's pattern give other ids). Loaded tokenizers are kept by hash so every
/// shard of a run shares one instance (and its pre-token cache).
/// </summary>
public sealed class TokenizerStore(IBlobStore blobs)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<ITextTokenizer>>> _loaded = new(StringComparer.Ordinal);

    public static string Hash(ReadOnlySpan<byte> json) => Convert.ToHexStringLower(SHA256.HashData(json));

    /// <summary>The content hash of a tokenizer file stored with <paramref name="suffix"/> (see <see cref="TokenizerFiles.Suffix"/>).</summary>
    public static string Hash(ReadOnlySpan<byte> bytes, string suffix)
    {
        if (!suffix.EndsWith(".tiktoken", StringComparison.Ordinal))
        {
            return Hash(bytes);
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(bytes);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes("\0" + suffix));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public static string KeyOf(string hash, string suffix = ".json") => BlobKey.Combine("tokenizers", hash + suffix);

    /// <summary>Stores the bytes as they are (skipped when the content-addressed blob exists) and returns (key, hash).</summary>
    public Task<(string Key, string Hash)> PutAsync(byte[] json, CancellationToken cancellationToken) => PutAsync(json, ".json", cancellationToken);

    /// <summary>As <see cref="PutAsync(byte[], CancellationToken)"/> for a file of the kind <paramref name="suffix"/> names.</summary>
    public async Task<(string Key, string Hash)> PutAsync(byte[] bytes, string suffix, CancellationToken cancellationToken)
    {
        var hash = Hash(bytes, suffix);
        var key = KeyOf(hash, suffix);
        if (!await blobs.ExistsAsync(key, cancellationToken))
        {
            await blobs.PutAsync(key, new MemoryStream(bytes, writable: false), cancellationToken);
        }

        return (key, hash);
    }

    /// <summary>Loads a tokenizer blob, checking its bytes against <paramref name="hash"/>.</summary>
    /// <exception cref="InvalidDataException">the blob's hash differs.</exception>
    /// <exception cref="UnsupportedTokenizerException">the json is not supported.</exception>
    public Task<ITextTokenizer> GetAsync(string key, string hash, CancellationToken cancellationToken)
    {
        var lazy = _loaded.GetOrAdd(hash, _ => new Lazy<Task<ITextTokenizer>>(() => LoadAsync(key, hash, cancellationToken)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // Do not keep a failure: the next message may find the blob.
            _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<ITextTokenizer>>>(hash, lazy));
        }

        return task;
    }

    private async Task<ITextTokenizer> LoadAsync(string key, string hash, CancellationToken cancellationToken)
    {
        byte[] json;
        await using (var stream = await blobs.OpenReadAsync(key, cancellationToken))
        using (var ms = new MemoryStream())
        {
            await stream.CopyToAsync(ms, cancellationToken);
            json = ms.ToArray();
        }

        var suffix = TokenizerFiles.Suffix(key);
        var actual = Hash(json, suffix);
        if (!string.Equals(actual, hash, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"tokenizer blob {key} has sha256 {actual}, not {hash}");
        }

        return TokenizerFiles.Load(json, key);
    }
}
