using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Jiniac.Ingest.Dedup;
using Jiniac.Ingest.Html;
using Jiniac.Ingest.Output;
using Jiniac.Ingest.Reading;
using Microsoft.Extensions.Logging;

namespace Jiniac.Ingest;

/// <summary>
/// Reads one source, cleans, filters, de-duplicates and splits its documents and cuts them into
/// content-addressed shards in the blob store. Independent of the bus: the consumer wraps it and a
/// CLI can call it directly. One call runs on one thread at a time; calls may run concurrently.
/// </summary>
/// <remarks>
/// Blob layout: <c>shards/&lt;sha256&gt;.jsonl</c> (shared by all sources: same bytes, same key),
/// <c>{outputPrefix}/report.json</c> and, when anything was quarantined, <c>{outputPrefix}/quarantine.jsonl</c>.
/// The same input gives byte-identical shards, report and quarantine, in the same order.
/// A source's <c>blob://</c> paths are read from <paramref name="sourceBlobs"/> (the platform's store in a pipeline).
/// </remarks>
public sealed class SourceIngestor(IBlobStore blobs, IBlobStore sourceBlobs, IngestOptions options, TimeProvider time, ILogger<SourceIngestor> logger)
{
    /// <summary>An ingestor whose blob:// sources live in the same store it writes to.</summary>
    public SourceIngestor(IBlobStore blobs, IngestOptions options, TimeProvider time, ILogger<SourceIngestor> logger)
        : this(blobs, blobs, options, time, logger)
    {
    }

    public const string ReportName = "report.json";
    public const string QuarantineName = "quarantine.jsonl";
    public const string DedupIndexName = "dedup.bin";

    private static readonly JsonWriterOptions ReportJson = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="onShard">Called as soon as each shard is stored, before the rest of the source is read.</param>
    /// <exception cref="SourceUnreadableException">the source cannot be read at all (missing path, nothing matched).</exception>
    /// <exception cref="ArgumentException">the spec or output prefix is invalid.</exception>
    public Task<IngestResult> IngestAsync(SourceSpec spec, string outputPrefix, Func<IngestedShard, Task> onShard, CancellationToken cancellationToken) =>
        IngestAsync(spec, outputPrefix, [], onShard, cancellationToken);

    /// <param name="priorDedupIndexes">The dedup indexes (<see cref="DedupIndexName"/> blobs) of the sources before this one in its
    /// stage: documents they kept are duplicates here (see <see cref="DedupIndex"/>).</param>
    public async Task<IngestResult> IngestAsync(SourceSpec spec, string outputPrefix, IReadOnlyList<string> priorDedupIndexes,
        Func<IngestedShard, Task> onShard, CancellationToken cancellationToken)
    {
        Validate(spec, outputPrefix);
        var index = new DedupIndex();
        foreach (var prior in priorDedupIndexes)
        {
            BlobKey.Validate(prior);
            await index.LoadAsync(blobs, prior, cancellationToken);
        }

        var (files, skippedFiles) = await SourceFiles.ResolveAsync(spec, sourceBlobs, cancellationToken);
        var tempDir = options.TempDir ?? throw new InvalidOperationException("IngestOptions.TempDir is not set");
        Directory.CreateDirectory(tempDir);
        logger.IngestStarted(spec.Name, files.Count);
        var started = time.GetTimestamp();

        var shards = new List<IngestedShard>();
        Task Collect(IngestedShard shard)
        {
            shards.Add(shard);
            return onShard(shard);
        }

        await using var train = new ShardWriter(blobs, SplitNames.Train, spec.ShardBytes, tempDir, Collect, logger);
        await using var eval = new ShardWriter(blobs, SplitNames.Eval, spec.ShardBytes, tempDir, Collect, logger);
        await using var quarantine = new QuarantineWriter(tempDir);
        var run = new Run(spec, new DocumentSink(spec, train, eval, index), quarantine, sourceBlobs, options.MaxRecordBytes, logger);

        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Kind is InputKind.Jsonl or InputKind.JsonlGz or InputKind.JsonlZst)
            {
                await run.ReadJsonlAsync(file, cancellationToken);
            }
            else if (file.Kind == InputKind.Parquet)
            {
                await run.ReadParquetAsync(file, cancellationToken);
            }
            else
            {
                await run.ReadDocumentAsync(file, cancellationToken);
            }
        }

        await run.Sink.CompleteAsync(cancellationToken);
        var dedupBlob = $"{outputPrefix}/{DedupIndexName}";
        await index.StoreAsync(blobs, dedupBlob, cancellationToken);

        var quarantineBlob = await quarantine.StoreAsync(blobs, $"{outputPrefix}/{QuarantineName}", cancellationToken);
        var result = new IngestResult
        {
            Source = spec.Name,
            Shards = shards,
            Files = files.Count,
            RecordsIn = run.RecordsIn,
            RecordsOut = train.Records + eval.Records,
            TrainRecords = train.Records,
            EvalRecords = eval.Records,
            Duplicates = run.Sink.Duplicates,
            NearDuplicates = run.Sink.NearDuplicates,
            Dropped = new SortedDictionary<string, long>(run.Sink.Dropped.ToDictionary(), StringComparer.Ordinal),
            PiiHits = new SortedDictionary<string, long>(run.Sink.PiiHits.ToDictionary(), StringComparer.Ordinal),
            Modified = new SortedDictionary<string, long>(run.Sink.Modified.ToDictionary(), StringComparer.Ordinal),
            Languages = new SortedDictionary<string, long>(run.Sink.Languages.ToDictionary(), StringComparer.Ordinal),
            QuarantinedRecords = run.RecordsIn - run.Sink.Accepted,
            DedupIndexBlob = dedupBlob,
            Quarantined = quarantine.Count,
            QuarantineReasons = new SortedDictionary<string, long>(quarantine.Reasons.ToDictionary(), StringComparer.Ordinal),
            QuarantineBlob = quarantineBlob,
            BytesIn = run.BytesIn,
            BytesOut = train.ShardBytes + eval.ShardBytes,
            TextBytesOut = train.TextBytes + eval.TextBytes,
            ReportBlob = $"{outputPrefix}/{ReportName}",
        };

        await WriteReportAsync(spec, result, run, skippedFiles, train, eval, cancellationToken);
        logger.IngestFinished(spec.Name, result.RecordsIn, result.RecordsOut, result.TrainRecords, result.EvalRecords,
            result.Duplicates, result.Quarantined, shards.Count, result.BytesIn, time.GetElapsedTime(started));
        return result;
    }

    private static void Validate(SourceSpec spec, string outputPrefix)
    {
        BlobKey.Validate(outputPrefix);
        if (string.IsNullOrWhiteSpace(spec.Name))
        {
            throw new ArgumentException("a source needs a name", nameof(spec));
        }

        if (spec.ShardBytes <= 0)
        {
            throw new ArgumentException($"source '{spec.Name}': shard_bytes must be positive", nameof(spec));
        }

        if (spec.EvalFraction is < 0 or > 1 || double.IsNaN(spec.EvalFraction))
        {
            throw new ArgumentException($"source '{spec.Name}': eval_fraction must be within [0, 1]", nameof(spec));
        }

        if (spec.MinChars < 0)
        {
            throw new ArgumentException($"source '{spec.Name}': min_chars must not be negative", nameof(spec));
        }

        if (string.IsNullOrEmpty(spec.TextField))
        {
            throw new ArgumentException($"source '{spec.Name}': text_field must not be empty", nameof(spec));
        }

        // The pipeline loader refuses these already; a command built elsewhere (a test, another client) is checked too.
        var c = spec.Cleaning;
        var d = spec.Dedup;
        if (c.MaxChars < 0 || c.MinJapaneseRatio is < 0 or > 1 || c.MaxSymbolRatio is < 0 or > 1 || c.MaxDigitRatio is < 0 or > 1
            || d.Shingle is < 1 or > 32 || d.Bands is < 1 or > 64 || d.Rows is < 1 or > 32)
        {
            throw new ArgumentException($"source '{spec.Name}': a cleaning or dedup setting is out of range ({c}, {d})", nameof(spec));
        }
    }

    private async Task WriteReportAsync(SourceSpec spec, IngestResult result, Run run, int skippedFiles, ShardWriter train, ShardWriter eval, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, ReportJson))
        {
            json.WriteStartObject();
            json.WriteString("source", spec.Name);
            json.WriteString("domain", spec.DomainName);
            json.WriteString("format", spec.Format.ToString());
            json.WriteString("textField", spec.TextField);
            json.WriteNumber("evalFraction", spec.EvalFraction);
            json.WriteNumber("minChars", spec.MinChars);
            json.WriteNumber("shardBytes", spec.ShardBytes);
            json.WriteNumber("recordsIn", result.RecordsIn);
            json.WriteNumber("recordsOut", result.RecordsOut);
            json.WriteNumber("duplicates", result.Duplicates);
            json.WriteNumber("nearDuplicates", result.NearDuplicates);
            json.WriteNumber("emptyLines", run.EmptyLines);
            WriteCounts(json, "dropped", result.Dropped);
            WriteCounts(json, "modified", result.Modified);
            WriteCounts(json, "pii", result.PiiHits);
            WriteCounts(json, "languages", result.Languages);
            WriteRules(json, spec);
            json.WriteNumber("quarantined", result.Quarantined);
            json.WriteNumber("quarantinedRecords", result.QuarantinedRecords);
            WriteCounts(json, "quarantinedByReason", result.QuarantineReasons);
            if (result.QuarantineBlob is null)
            {
                json.WriteNull("quarantineBlob");
            }
            else
            {
                json.WriteString("quarantineBlob", result.QuarantineBlob);
            }

            json.WriteNumber("bytesIn", result.BytesIn);
            json.WriteNumber("bytesOut", result.BytesOut);
            json.WriteNumber("textBytesOut", result.TextBytesOut);
            WriteSplit(json, SplitNames.Train, train);
            WriteSplit(json, SplitNames.Eval, eval);
            json.WriteNumber("skippedFiles", skippedFiles);
            json.WriteStartArray("files");
            foreach (var file in run.FileReports)
            {
                json.WriteStartObject();
                json.WriteString("path", file.Path);
                json.WriteString("kind", file.Kind.ToString());
                json.WriteNumber("bytes", file.Bytes);
                json.WriteNumber("records", file.Records);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("shards");
            foreach (var shard in result.Shards)
            {
                json.WriteStartObject();
                json.WriteString("key", shard.ShardKey);
                json.WriteString("blob", shard.Blob);
                json.WriteString("split", shard.Split);
                json.WriteNumber("records", shard.Records);
                json.WriteNumber("textBytes", shard.TextBytes);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        buffer.Position = 0;
        await blobs.PutAsync(result.ReportBlob, buffer, cancellationToken);
    }

    private static void WriteCounts(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, long> counts)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in counts)
        {
            json.WriteNumber(key, value);
        }

        json.WriteEndObject();
    }

    // The rules in force, so a report says what it counted against.
    private static void WriteRules(Utf8JsonWriter json, SourceSpec spec)
    {
        var c = spec.Cleaning;
        json.WriteStartObject("rules");
        json.WriteBoolean("whitespace", c.Whitespace);
        json.WriteBoolean("boilerplate", c.Boilerplate);
        json.WriteBoolean("stripUrls", c.StripUrls);
        json.WriteBoolean("stripEmails", c.StripEmails);
        json.WriteNumber("maxChars", c.MaxChars);
        json.WriteString("languages", string.Join(',', c.Languages));
        json.WriteNumber("minJapaneseRatio", c.MinJapaneseRatio);
        json.WriteNumber("maxSymbolRatio", c.MaxSymbolRatio);
        json.WriteNumber("maxDigitRatio", c.MaxDigitRatio);
        json.WriteBoolean("repetition", c.Repetition);
        json.WriteString("pii", spec.Pii.Redact ? string.Join(',', spec.Pii.Kinds) : "");
        json.WriteBoolean("exactDedup", spec.Dedup.Exact);
        json.WriteString("nearDedup", spec.Dedup.Near ? $"minhash shingle={spec.Dedup.Shingle} bands={spec.Dedup.Bands} rows={spec.Dedup.Rows}" : "off");
        json.WriteEndObject();
    }

    private static void WriteSplit(Utf8JsonWriter json, string name, ShardWriter writer)
    {
        json.WriteStartObject(name);
        json.WriteNumber("records", writer.Records);
        json.WriteNumber("textBytes", writer.TextBytes);
        json.WriteNumber("shards", writer.Shards.Count);
        json.WriteEndObject();
    }

    internal sealed record FileReport(string Path, InputKind Kind, long Bytes, long Records);

    /// <summary>The reading side of one ingest: per-file readers feeding the sink and the quarantine.</summary>
    private sealed class Run(SourceSpec spec, DocumentSink sink, QuarantineWriter quarantine, IBlobStore sourceBlobs, int maxRecordBytes, ILogger logger)
    {
        private readonly byte[] _field = Encoding.UTF8.GetBytes(spec.TextField);

        public DocumentSink Sink => sink;
        public long RecordsIn { get; private set; }
        public long EmptyLines { get; private set; }
        public long BytesIn { get; private set; }
        public List<FileReport> FileReports { get; } = [];

        public async Task ReadJsonlAsync(InputFile file, CancellationToken cancellationToken)
        {
            Stream raw;
            long size;
            try
            {
                (raw, size) = await OpenAsync(file, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await QuarantineAsync(file.Path, 0, QuarantineReasons.UnreadableFile, e.Message, default, cancellationToken);
                FileReports.Add(new FileReport(file.Path, file.Kind, 0, 0));
                return;
            }

            // Every read goes through the tail tracker: the gzip trailer and zstd offsets come from it, so a
            // blob download (which cannot seek) is checked exactly as a file is.
            await using var stream = new TailReadStream(raw);
            BytesIn += size;
            if (size == 0)
            {
                await QuarantineAsync(file.Path, 0, QuarantineReasons.EmptyFile, "the file is empty", default, cancellationToken);
                FileReports.Add(new FileReport(file.Path, file.Kind, 0, 0));
                return;
            }

            var gzip = file.Kind == InputKind.JsonlGz;
            var zstd = file.Kind == InputKind.JsonlZst;
            Crc32ReadStream? decompressed = gzip ? new Crc32ReadStream(new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true)) : null;
            await using var __ = decompressed;
            Stream? zstdStream = zstd ? new ZstdSharp.DecompressionStream(stream, leaveOpen: true) : null;
            await using var ___ = zstdStream;
            using var reader = new Utf8LineReader(decompressed ?? zstdStream ?? stream, maxRecordBytes);
            var records = 0L;
            byte[]? unterminatedLast = null;
            var failed = false;
            try
            {
                while (await reader.ReadLineAsync(cancellationToken))
                {
                    var line = reader.Line;
                    if (reader.LineNumber == 1 && line.Span.IndexOf((byte)0) >= 0)
                    {
                        // NUL bytes never occur in JSON text: this is a binary file, not thousands of bad lines.
                        failed = true;
                        await QuarantineAsync(file.Path, 1, QuarantineReasons.BinaryFile, "the file holds NUL bytes: binary, not JSON Lines", line, cancellationToken);
                        break;
                    }

                    if (reader.TooLong)
                    {
                        records++;
                        await QuarantineAsync(file.Path, reader.LineNumber, QuarantineReasons.TooLarge, $"line longer than {maxRecordBytes} bytes", line, cancellationToken);
                        continue;
                    }

                    if (IsBlank(line.Span))
                    {
                        EmptyLines++;
                        continue;
                    }

                    if (gzip && !reader.Terminated)
                    {
                        // Held until the trailer is checked: in a truncated file this is half a record.
                        unterminatedLast = line.ToArray();
                        continue;
                    }

                    records++;
                    await LineAsync(file, reader.LineNumber, line, cancellationToken);
                }
            }
            catch (EndOfStreamException e) when (zstd)
            {
                // ZstdSharp reports input that ends inside a frame; the half line it was reading is not returned.
                failed = true;
                await QuarantineAsync(file.Path, reader.LineNumber, QuarantineReasons.TruncatedZstd,
                    $"the zstd data ends inside a frame ({e.Message}): truncated; lines up to {reader.LineNumber} kept, at compressed offset {stream.BytesRead}",
                    default, cancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException || (zstd && e is ZstdSharp.ZstdException))
            {
                failed = true;
                await QuarantineAsync(file.Path, reader.LineNumber, zstd ? QuarantineReasons.CorruptZstd : QuarantineReasons.CorruptGzip,
                    $"{e.Message} (lines up to {reader.LineNumber} kept)", default, cancellationToken);
            }
            catch (IOException e)
            {
                failed = true;
                await QuarantineAsync(file.Path, reader.LineNumber, QuarantineReasons.UnreadableFile,
                    $"{e.Message} (lines up to {reader.LineNumber} kept)", default, cancellationToken);
            }

            if (decompressed is not null && !failed)
            {
                var lastGood = unterminatedLast is null ? reader.LineNumber : reader.LineNumber - 1;
                await stream.DrainAsync(cancellationToken);
                if (!GzipTrailer.Matches(stream.Tail, stream.BytesRead, decompressed.Crc, decompressed.BytesPassed))
                {
                    if (unterminatedLast is not null)
                    {
                        records++;
                    }

                    await QuarantineAsync(file.Path, lastGood, QuarantineReasons.TruncatedGzip,
                        $"the gzip data ends without its trailer (CRC-32/length mismatch): truncated; lines up to {lastGood} kept",
                        unterminatedLast, cancellationToken);
                }
                else if (unterminatedLast is not null)
                {
                    records++;
                    await LineAsync(file, reader.LineNumber, unterminatedLast, cancellationToken);
                }
            }

            RecordsIn += records;
            FileReports.Add(new FileReport(file.Path, file.Kind, size, records));
        }

        /// <summary>
        /// Parquet: one row group at a time, only the text column, so memory is bounded by the largest row
        /// group's text column. A row group larger than the record limit, or a value larger than it, is
        /// quarantined (line = row number, 1-based, across the file).
        /// </summary>
        public async Task ReadParquetAsync(InputFile file, CancellationToken cancellationToken)
        {
            long size;
            FileStream stream;
            try
            {
                // Parquet's footer is at the end and its columns anywhere: it needs a seekable file, so a blob is
                // read from the store's local copy (the folder store's own file; a remote store's cached download).
                var local = file.BlobKey is null ? file.Path : await sourceBlobs.GetLocalPathAsync(file.BlobKey, cancellationToken);
                stream = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.RandomAccess);
                size = stream.Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await QuarantineAsync(file.Path, 0, QuarantineReasons.UnreadableFile, e.Message, default, cancellationToken);
                FileReports.Add(new FileReport(file.Path, file.Kind, 0, 0));
                return;
            }

            await using var _ = stream;
            BytesIn += size;
            var records = 0L;
            var row = 0L;
            try
            {
                if (size == 0)
                {
                    await QuarantineAsync(file.Path, 0, QuarantineReasons.EmptyFile, "the file is empty", default, cancellationToken);
                    return;
                }

                Parquet.ParquetReader parquet;
                try
                {
                    parquet = await Parquet.ParquetReader.CreateAsync(stream, null, leaveStreamOpen: true, cancellationToken);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or Parquet.ParquetException or InvalidOperationException or ArgumentException)
                {
                    await QuarantineAsync(file.Path, 0, QuarantineReasons.InvalidParquet, $"not a readable parquet file: {e.Message}", default, cancellationToken);
                    return;
                }

                await using var __ = parquet;
                var field = FindColumn(parquet.Schema, spec.TextField);
                if (field is null)
                {
                    await QuarantineAsync(file.Path, 0, QuarantineReasons.MissingField,
                        $"no string column '{spec.TextField}' (columns: {string.Join(", ", parquet.Schema.GetDataFields().Select(f => $"{f.Path} ({f.ClrType.Name})"))})", default, cancellationToken);
                    return;
                }

                for (var g = 0; g < parquet.RowGroupCount; g++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var group = parquet.OpenRowGroupReader(g);
                    var rows = group.RowCount;
                    var meta = group.GetMetadata(field);
                    var columnBytes = meta?.MetaData?.TotalUncompressedSize ?? 0;
                    if (columnBytes > maxRecordBytes * 4L)
                    {
                        records += rows;
                        await QuarantineAsync(file.Path, row + 1, QuarantineReasons.TooLarge,
                            $"row group {g}: its '{spec.TextField}' column is {columnBytes} bytes uncompressed, over the {maxRecordBytes * 4L}-byte bound (rows {row + 1}-{row + rows})",
                            default, cancellationToken);
                        row += rows;
                        continue;
                    }

                    var values = new string?[rows];
                    await group.ReadAsync(field, values.AsMemory(), null, cancellationToken);
                    for (var i = 0; i < values.Length; i++)
                    {
                        row++;
                        records++;
                        var value = values[i];
                        values[i] = null;
                        if (value is null)
                        {
                            await QuarantineAsync(file.Path, row, QuarantineReasons.FieldNotString, $"row {row}: '{spec.TextField}' is null", default, cancellationToken);
                        }
                        else if (value.Length > maxRecordBytes)
                        {
                            await QuarantineAsync(file.Path, row, QuarantineReasons.TooLarge, $"row {row}: text of {value.Length} characters is over the {maxRecordBytes}-byte limit",
                                Encoding.UTF8.GetBytes(value[..Math.Min(value.Length, 1024)]), cancellationToken);
                        }
                        else
                        {
                            await sink.AcceptAsync($"{spec.Name}:{file.RelativeName}:{row}", value, cleaned: false, cancellationToken);
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or Parquet.ParquetException or InvalidOperationException or IndexOutOfRangeException or ArgumentException)
            {
                await QuarantineAsync(file.Path, row, QuarantineReasons.InvalidParquet, $"parquet read failed after row {row}: {e.Message} (rows up to {row} kept)", default, cancellationToken);
            }
            finally
            {
                RecordsIn += records;
                FileReports.Add(new FileReport(file.Path, file.Kind, size, records));
            }
        }

        private static Parquet.Schema.DataField? FindColumn(Parquet.Schema.ParquetSchema schema, string name)
        {
            foreach (var field in schema.GetDataFields())
            {
                // Parquet.Net 6 may type a UTF-8 column as ReadOnlyMemory<char>/<byte>; it reads any of them as strings.
                var text = field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>) || field.ClrType == typeof(ReadOnlyMemory<byte>) || field.ClrType == typeof(byte[]);
                if ((field.Name == name || field.Path.ToString() == name) && text && !field.IsArray)
                {
                    return field;
                }
            }

            return null;
        }

        private async ValueTask LineAsync(InputFile file, long lineNumber, ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
        {
            var reason = Parse(line.Span, out var text, out var detail);
            if (reason is not null)
            {
                await QuarantineAsync(file.Path, lineNumber, reason, detail, line, cancellationToken);
                return;
            }

            await sink.AcceptAsync($"{spec.Name}:{file.RelativeName}:{lineNumber}", text, cleaned: false, cancellationToken);
        }

        private string? Parse(ReadOnlySpan<byte> line, out string text, out string? detail)
        {
            if (!Utf8.IsValid(line))
            {
                text = "";
                detail = "the line is not valid UTF-8";
                return QuarantineReasons.InvalidUtf8;
            }

            return JsonlRecord.TryGetText(line, _field, out text, out detail);
        }

        public async Task ReadDocumentAsync(InputFile file, CancellationToken cancellationToken)
        {
            byte[] bytes;
            try
            {
                var length = file.BlobKey is null ? new FileInfo(file.Path).Length
                    : await sourceBlobs.GetLengthAsync(file.BlobKey, cancellationToken) ?? throw new BlobNotFoundException(file.BlobKey);
                BytesIn += length;
                RecordsIn++;
                if (length > maxRecordBytes)
                {
                    FileReports.Add(new FileReport(file.Path, file.Kind, length, 1));
                    await QuarantineAsync(file.Path, 0, QuarantineReasons.TooLarge, $"document of {length} bytes is over the {maxRecordBytes}-byte limit", default, cancellationToken);
                    return;
                }

                bytes = file.BlobKey is null ? await File.ReadAllBytesAsync(file.Path, cancellationToken)
                    : await ReadBlobAsync(file.BlobKey, (int)length, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                FileReports.Add(new FileReport(file.Path, file.Kind, 0, 1));
                await QuarantineAsync(file.Path, 0, QuarantineReasons.UnreadableFile, e.Message, default, cancellationToken);
                return;
            }

            FileReports.Add(new FileReport(file.Path, file.Kind, bytes.Length, 1));
            if (bytes.Length == 0)
            {
                await QuarantineAsync(file.Path, 0, QuarantineReasons.EmptyFile, "the file is empty", default, cancellationToken);
                return;
            }

            if (bytes.AsSpan(0, Math.Min(bytes.Length, 8192)).IndexOf((byte)0) >= 0)
            {
                await QuarantineAsync(file.Path, 0, QuarantineReasons.BinaryFile, "the file holds NUL bytes: binary, not text", bytes.AsMemory(0, Math.Min(bytes.Length, 64)), cancellationToken);
                return;
            }

            var html = file.Kind == InputKind.Html;
            if (!DocumentDecoder.TryDecode(bytes, html, out var text, out var badLine))
            {
                await QuarantineAsync(file.Path, badLine, QuarantineReasons.InvalidUtf8, $"line {badLine} is not valid UTF-8",
                    LineBytes(bytes, badLine), cancellationToken);
                return;
            }

            var id = $"{spec.Name}:{file.RelativeName}";
            if (html)
            {
                await sink.AcceptAsync(id, HtmlTextExtractor.ExtractMainText(text), cleaned: true, cancellationToken);
            }
            else
            {
                await sink.AcceptAsync(id, text, cleaned: false, cancellationToken);
            }
        }

        /// <summary>A file, or a blob streamed from the store (never loaded whole), and its size in bytes.</summary>
        private async Task<(Stream Stream, long Size)> OpenAsync(InputFile file, CancellationToken cancellationToken)
        {
            if (file.BlobKey is null)
            {
                var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                return (stream, stream.Length);
            }

            var size = await sourceBlobs.GetLengthAsync(file.BlobKey, cancellationToken) ?? throw new BlobNotFoundException(file.BlobKey);
            return (await sourceBlobs.OpenReadAsync(file.BlobKey, cancellationToken), size);
        }

        /// <summary>A document blob (at most the record limit) into memory; a blob that changed size since it was listed ends where its bytes do.</summary>
        private async Task<byte[]> ReadBlobAsync(string key, int length, CancellationToken cancellationToken)
        {
            await using var stream = await sourceBlobs.OpenReadAsync(key, cancellationToken);
            var bytes = new byte[length];
            var filled = 0;
            while (filled < length)
            {
                var n = await stream.ReadAsync(bytes.AsMemory(filled), cancellationToken);
                if (n == 0)
                {
                    return bytes[..filled];
                }

                filled += n;
            }

            return bytes;
        }

        private async ValueTask QuarantineAsync(string path, long line, string reason, string? detail, ReadOnlyMemory<byte> raw, CancellationToken cancellationToken)
        {
            logger.RecordQuarantined(path, line, reason);
            await quarantine.AddAsync(path, line, reason, detail, raw, cancellationToken);
        }

        private static ReadOnlyMemory<byte> LineBytes(byte[] bytes, long lineNumber)
        {
            var start = 0;
            for (var line = 1L; line < lineNumber; line++)
            {
                var next = Array.IndexOf(bytes, (byte)'\n', start);
                if (next < 0)
                {
                    return default;
                }

                start = next + 1;
            }

            var end = Array.IndexOf(bytes, (byte)'\n', start);
            return bytes.AsMemory(start, (end < 0 ? bytes.Length : end) - start);
        }

        private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;
    }
}
