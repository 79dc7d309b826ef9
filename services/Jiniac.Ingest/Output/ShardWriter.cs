using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Logging;

namespace Jiniac.Ingest.Output;

/// <summary>
/// Cuts one split's documents into shards of at most <c>maxBytes</c> (a single larger document gets a
/// shard of its own), each built in a temp file and stored content-addressed at
/// <c>shards/&lt;sha256&gt;.jsonl</c> as soon as it is full, so memory stays bounded and the caller
/// hears about each shard while the rest is still being read.
/// </summary>
internal sealed class ShardWriter : IAsyncDisposable
{
    // Japanese stays readable (and 3 bytes, not 6) in the shards; quotes, backslashes and controls are still escaped.
    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly IBlobStore _blobs;
    private readonly string _split;
    private readonly long _maxBytes;
    private readonly string _tempDir;
    private readonly Func<IngestedShard, Task> _onShard;
    private readonly ILogger _logger;
    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly List<IngestedShard> _shards = [];
    private FileStream? _file;
    private string? _tempPath;
    private IncrementalHash? _hash;
    private long _bytes;
    private long _records;
    private long _textBytes;

    public ShardWriter(IBlobStore blobs, string split, long maxBytes, string tempDir, Func<IngestedShard, Task> onShard, ILogger logger)
    {
        _blobs = blobs;
        _split = split;
        _maxBytes = maxBytes;
        _tempDir = tempDir;
        _onShard = onShard;
        _logger = logger;
        _json = new Utf8JsonWriter(_line, JsonOptions);
    }

    public IReadOnlyList<IngestedShard> Shards => _shards;

    public long Records { get; private set; }

    public long TextBytes { get; private set; }

    /// <summary>Bytes of all shards stored so far.</summary>
    public long ShardBytes { get; private set; }

    /// <summary>
    /// The text as a JSON string value, written a line at a time: the same bytes as one WriteString (escaping is per
    /// character), but the encoder's vectorised scan covers each line and only the "\n" pieces take its slow
    /// per-character path, which otherwise runs from a document's first line break to its end.
    /// </summary>
    internal static void WriteText(Utf8JsonWriter json, ReadOnlySpan<byte> utf8)
    {
        while (true)
        {
            var nl = utf8.IndexOf((byte)'\n');
            if (nl < 0)
            {
                json.WriteStringValueSegment(utf8, isFinalSegment: true);
                return;
            }

            json.WriteStringValueSegment(utf8[..nl], isFinalSegment: false);
            json.WriteStringValueSegment("\n"u8, isFinalSegment: nl == utf8.Length - 1);
            if (nl == utf8.Length - 1)
            {
                return;
            }

            utf8 = utf8[(nl + 1)..];
        }
    }

    public async ValueTask AddAsync(string id, ReadOnlyMemory<byte> utf8Text, CancellationToken cancellationToken)
    {
        _line.ResetWrittenCount();
        _json.Reset(_line);
        _json.WriteStartObject();
        _json.WriteString("id"u8, id);
        _json.WritePropertyName("text"u8);
        WriteText(_json, utf8Text.Span);
        _json.WriteEndObject();
        _json.Flush();
        _line.Write("\n"u8);
        var line = _line.WrittenMemory;

        if (_records > 0 && _bytes + line.Length > _maxBytes)
        {
            await CompleteShardAsync(cancellationToken);
        }

        if (_file is null)
        {
            _tempPath = Path.Combine(_tempDir, $"shard-{Guid.NewGuid():N}.jsonl.tmp");
            _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        await _file.WriteAsync(line, cancellationToken);
        _hash!.AppendData(line.Span);
        _bytes += line.Length;
        _records++;
        _textBytes += utf8Text.Length;
        Records++;
        TextBytes += utf8Text.Length;
    }

    /// <summary>Stores the last, partly filled shard.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_records > 0)
        {
            await CompleteShardAsync(cancellationToken);
        }
    }

    private async Task CompleteShardAsync(CancellationToken cancellationToken)
    {
        await _file!.FlushAsync(cancellationToken);
        await _file.DisposeAsync();
        _file = null;
        var key = Convert.ToHexStringLower(_hash!.GetHashAndReset());
        _hash.Dispose();
        _hash = null;
        var blob = $"shards/{key}.jsonl";

        // Content-addressed: an existing blob under this key has these very bytes (a re-ingest, or
        // another source with the same documents), so it is not written again.
        if (await _blobs.ExistsAsync(blob, cancellationToken))
        {
            File.Delete(_tempPath!);
        }
        else
        {
            await _blobs.PutFileAsync(blob, _tempPath!, move: true, cancellationToken);
        }

        _tempPath = null;
        var shard = new IngestedShard { ShardKey = key, Blob = blob, Split = _split, Records = _records, TextBytes = _textBytes };
        _shards.Add(shard);
        ShardBytes += _bytes;
        _logger.ShardStored(key, _split, _records, _bytes);
        _bytes = 0;
        _records = 0;
        _textBytes = 0;
        await _onShard(shard);
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        _hash?.Dispose();
        if (_file is not null)
        {
            await _file.DisposeAsync();
        }

        if (_tempPath is not null)
        {
            File.Delete(_tempPath);
        }
    }
}
