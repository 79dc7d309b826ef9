using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Ingest.Output;

/// <summary>Stable reason codes of quarantined records (the keys of RecordsQuarantined.Reasons).</summary>
public static class QuarantineReasons
{
    public const string InvalidJson = "invalid_json";
    public const string NotAnObject = "not_an_object";
    public const string MissingField = "missing_field";
    public const string FieldNotString = "field_not_string";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string TruncatedGzip = "truncated_gzip";
    public const string CorruptGzip = "corrupt_gzip";
    public const string TooLarge = "too_large";
    public const string UnreadableFile = "unreadable_file";
    public const string TruncatedZstd = "truncated_zstd";
    public const string CorruptZstd = "corrupt_zstd";
    public const string InvalidParquet = "invalid_parquet";
    public const string EmptyFile = "empty_file";
    public const string BinaryFile = "binary_file";
}

/// <summary>
/// Bad records, one JSON line each: <c>{"file","line","reason","detail","raw"}</c> where raw is at most
/// the first 1 KB of the record (invalid UTF-8 shown as U+FFFD). Built in a temp file, stored at the end.
/// </summary>
internal sealed class QuarantineWriter : IAsyncDisposable
{
    public const int RawPrefixBytes = 1024;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _tempDir;
    private readonly SortedDictionary<string, long> _reasons = new(StringComparer.Ordinal);
    private FileStream? _file;
    private Utf8JsonWriter? _json;
    private string? _tempPath;

    public QuarantineWriter(string tempDir) => _tempDir = tempDir;

    public long Count { get; private set; }

    /// <summary>Counts by reason, in ordinal order of the reason.</summary>
    public IReadOnlyDictionary<string, long> Reasons => _reasons;

    public async ValueTask AddAsync(string file, long line, string reason, string? detail, ReadOnlyMemory<byte> raw, CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            _tempPath = Path.Combine(_tempDir, $"quarantine-{Guid.NewGuid():N}.jsonl.tmp");
            _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 14, FileOptions.Asynchronous);
            _json = new Utf8JsonWriter(_file, JsonOptions);
        }

        var prefix = raw.Length > RawPrefixBytes ? raw[..RawPrefixBytes] : raw;
        var json = _json!;
        json.WriteStartObject();
        json.WriteString("file", file);
        json.WriteNumber("line", line);
        json.WriteString("reason", reason);
        if (detail is not null)
        {
            json.WriteString("detail", detail);
        }

        // A prefix cut inside a multi-byte character or invalid input decodes with U+FFFD: the quarantine stays valid JSON.
        json.WriteString("raw", Encoding.UTF8.GetString(prefix.Span));
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken);
        _file.WriteByte((byte)'\n');
        json.Reset(_file);

        Count++;
        _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
    }

    /// <summary>Stores the quarantine at <paramref name="key"/>; when nothing was quarantined, removes a stale one from an earlier attempt.</summary>
    public async Task<string?> StoreAsync(IBlobStore blobs, string key, CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            if (await blobs.ExistsAsync(key, cancellationToken))
            {
                await blobs.DeleteAsync(key, cancellationToken);
            }

            return null;
        }

        await _json!.DisposeAsync();
        _json = null;
        await _file.FlushAsync(cancellationToken);
        await _file.DisposeAsync();
        _file = null;
        await blobs.PutFileAsync(key, _tempPath!, move: true, cancellationToken);
        _tempPath = null;
        return key;
    }

    public async ValueTask DisposeAsync()
    {
        if (_json is not null)
        {
            await _json.DisposeAsync();
        }

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
