using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Jiniac.Ingest;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Bench;

/// <summary>
/// Ingest throughput of one source (one core: a source is read, cleaned, filtered, redacted, MinHashed and
/// sharded on one thread) against a named reference on the same bytes in the same run: a plain read +
/// UTF-8 validation + JSON parse of every line that pulls the text field into a string (what any ingest
/// must do at least). The corpus is made from the paragraphs of the given files, recombined at random
/// (seeded) into distinct documents of 3–8 paragraphs, so that dedup does not short-cut the work.
/// </summary>
internal static class IngestBench
{
    public static int Run(ReadOnlySpan<string> args, TextWriter output, TextWriter error)
    {
        var sources = new List<string>();
        var megabytes = 100;
        var repeats = 3;
        var near = true;
        var cleaning = new CleaningSpec();
        var pii = new PiiSpec();
        var stages = false;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--from": sources.Add(value ?? ""); i++; break;
                case "--mb": megabytes = int.Parse(value ?? "", CultureInfo.InvariantCulture); i++; break;
                case "--repeats": repeats = int.Parse(value ?? "", CultureInfo.InvariantCulture); i++; break;
                case "--no-minhash": near = false; break;
                // For finding where the time goes; the published figure has every rule on.
                case "--no-repetition": cleaning = cleaning with { Repetition = false }; break;
                case "--no-boilerplate": cleaning = cleaning with { Boilerplate = false }; break;
                case "--no-pii": pii = pii with { Redact = false }; break;
                case "--stages": stages = true; break;
                default:
                    error.WriteLine($"unknown argument '{args[i]}'");
                    return 2;
            }
        }

        if (sources.Count == 0 || megabytes < 1 || repeats < 1)
        {
            error.WriteLine("ingest needs --from FILE_OR_DIR (jsonl with a text field, or .md/.txt files), --mb >= 1, --repeats >= 1");
            return 2;
        }

        var root = Path.Combine(Path.GetTempPath(), $"jiniac-ingest-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        try
        {
            var corpus = Path.Combine(root, "corpus.jsonl");
            var paragraphs = Paragraphs(sources);
            var (documents, bytes) = WriteCorpus(corpus, paragraphs, megabytes * 1_000_000L);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"corpus: {documents:N0} documents, {bytes / 1e6:F1} MB of jsonl, from {paragraphs.Count:N0} paragraphs of {string.Join(", ", sources)}"));

            if (stages)
            {
                Stages(corpus, output);
                return 0;
            }

            var reference = new List<(double Wall, double Cpu)>();
            var ingest = new List<(double Wall, double Cpu, IngestResult Result, long Allocated, int Gcs)>();
            for (var r = 0; r < repeats; r++)
            {
                reference.Add(Reference(corpus));
                ingest.Add(Ingest(corpus, Path.Combine(root, $"out{r}"), near, cleaning, pii));
            }

            var refBest = reference.MinBy(x => x.Wall);
            var best = ingest.MinBy(x => x.Wall);
            var result = best.Result;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""

                | pass (best of {repeats}, one thread) | seconds | MB/s | MB/s per CPU-second |
                | --- | --- | --- | --- |
                | reference: read + UTF-8 check + JSON parse of the text field | {refBest.Wall:F2} | {bytes / 1e6 / refBest.Wall:F1} | {bytes / 1e6 / refBest.Cpu:F1} |
                | jiniac ingest, all default rules{(near ? ", MinHash 14×8 on" : ", MinHash off")} | {best.Wall:F2} | {bytes / 1e6 / best.Wall:F1} | {bytes / 1e6 / best.Cpu:F1} |
                | ratio ingest / reference | | {refBest.Wall / best.Wall:F2} | {refBest.Cpu / best.Cpu:F2} |

                ingest shards (the same bytes give the same keys) {string.Join(", ", result.Shards.Select(s => $"{s.Split} {s.ShardKey[..16]}"))}
                ingest allocated {best.Allocated / 1e6:F0} MB ({best.Allocated / (double)bytes:F2} bytes per input byte), {best.Gcs} gen-0 collections; peak working set of the process {Environment.WorkingSet / 1e6:F0} MB now, {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB at most
                ingest kept {result.RecordsOut:N0} of {result.RecordsIn:N0} documents; dropped {string.Join(", ", result.Dropped.Select(d => $"{d.Key} {d.Value}"))}; {result.Duplicates} exact and {result.NearDuplicates} near duplicates; PII {string.Join(", ", result.PiiHits.Select(d => $"{d.Key} {d.Value}"))}
                """));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<string> Paragraphs(List<string> sources)
    {
        var paragraphs = new List<string>();
        foreach (var source in sources)
        {
            var files = Directory.Exists(source)
                ? Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
                : [source];
            foreach (var file in files)
            {
                if (file.EndsWith(".jsonl", StringComparison.Ordinal))
                {
                    foreach (var line in File.ReadLines(file))
                    {
                        try
                        {
                            using var json = JsonDocument.Parse(line);
                            if (json.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                            {
                                Split(text.GetString()!, paragraphs);
                            }
                        }
                        catch (JsonException)
                        {
                            // the quickstart's planted broken lines
                        }
                    }
                }
                else if (file.EndsWith(".md", StringComparison.Ordinal) || file.EndsWith(".txt", StringComparison.Ordinal))
                {
                    Split(File.ReadAllText(file), paragraphs);
                }
            }
        }

        return paragraphs;
    }

    private static void Split(string text, List<string> paragraphs)
    {
        foreach (var p in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (p.Length >= 40)
            {
                paragraphs.Add(p);
            }
        }
    }

    private static (long Documents, long Bytes) WriteCorpus(string path, List<string> paragraphs, long targetBytes)
    {
        var random = new Random(42);
        using var file = File.Create(path);
        // Relaxed escaping: Japanese stays UTF-8 in the file, so its bytes are the text's bytes (as in real corpora).
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var documents = 0L;
        var text = new StringBuilder();
        while (file.Position + json.BytesPending < targetBytes)
        {
            text.Clear();
            var count = random.Next(3, 9);
            for (var i = 0; i < count; i++)
            {
                text.Append(i == 0 ? "" : "\n\n").Append(paragraphs[random.Next(paragraphs.Count)]);
            }

            json.WriteStartObject();
            json.WriteString("id", $"doc-{documents++}");
            json.WriteString("text", text.ToString());
            json.WriteEndObject();
            json.Flush();
            file.WriteByte((byte)'\n');
            json.Reset();
        }

        return (documents, file.Length);
    }

    private static (double Wall, double Cpu) Reference(string path)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var chars = 0L;
        foreach (var line in ReadLines(path))
        {
            if (!System.Text.Unicode.Utf8.IsValid(line))
            {
                throw new InvalidDataException("invalid UTF-8");
            }

            var reader = new Utf8JsonReader(line);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    chars += reader.GetString()!.Length;
                }
            }
        }

        GC.KeepAlive(chars);
        return (watch.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static IEnumerable<byte[]> ReadLines(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        var pending = new MemoryStream();
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] == (byte)'\n')
                {
                    pending.Write(buffer, start, i - start);
                    yield return pending.ToArray();
                    pending.SetLength(0);
                    start = i + 1;
                }
            }

            pending.Write(buffer, start, read - start);
        }
    }

    // Where the time goes: each step of the document path timed alone over the same documents, in memory.
    private static void Stages(string corpus, TextWriter output)
    {
        var texts = new List<string>();
        foreach (var line in File.ReadLines(corpus))
        {
            using var json = JsonDocument.Parse(line);
            texts.Add(json.RootElement.GetProperty("text").GetString()!);
        }

        var bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        var times = new Dictionary<string, double>();
        // Thread CPU time, not wall time: the machines this runs on are shared, and a stage runs on one thread.
        void Time(string name, Action<string> step)
        {
            var start = ThreadCpuSeconds();
            foreach (var text in texts)
            {
                step(text);
            }

            times[name] = ThreadCpuSeconds() - start;
        }

        var redactor = new Jiniac.Ingest.Cleaning.PiiRedactor(new PiiSpec().Kinds);
        var repetition = new Jiniac.Ingest.Cleaning.RepetitionFilter();
        var hasher = new Jiniac.Ingest.Dedup.MinHasher(5, 14, 8);
        var tokens = new ulong[1024];
        var lengths = new int[1024];
        var keys = new ulong[14];
        var utf8 = new byte[1 << 20];
        Time("nfkc+controls+tidy", t => Jiniac.Ingest.Text.TextCleaner.Clean(t));
        Time("boilerplate", t => Jiniac.Ingest.Cleaning.BoilerplateLines.Remove(t, out _));
        Time("pii", t => redactor.Redact(t));
        Time("whitespace", t => Jiniac.Ingest.Cleaning.TextRules.NormalizeWhitespace(t, out _));
        Time("script stats", t => Jiniac.Ingest.Cleaning.ScriptStats.Of(t));
        Time("tokens", t => Jiniac.Ingest.Cleaning.ScriptTokens.Hash(t, ref tokens, ref lengths));
        Time("tokens+repetition", t =>
        {
            var n = Jiniac.Ingest.Cleaning.ScriptTokens.Hash(t, ref tokens, ref lengths);
            repetition.Check(t, tokens.AsSpan(0, n), lengths.AsSpan(0, n));
        });
        Time("tokens+minhash", t =>
        {
            var n = Jiniac.Ingest.Cleaning.ScriptTokens.Hash(t, ref tokens, ref lengths);
            hasher.BandKeys(tokens.AsSpan(0, n), keys);
        });
        Time("utf8+sha256", t => System.Security.Cryptography.SHA256.HashData(utf8.AsSpan(0, Encoding.UTF8.GetBytes(t, utf8))));
        output.WriteLine($"{texts.Count} documents, {bytes / 1e6:F1} MB of text");
        foreach (var (name, seconds) in times)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-22} {seconds:F3} s  {bytes / 1e6 / seconds,8:F1} MB/s"));
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static double ThreadCpuSeconds()
    {
        const int ClockThreadCpuTimeId = 3;
        return ClockGetTime(ClockThreadCpuTimeId, out var t) == 0 ? t.Seconds + t.Nanoseconds / 1e9 : Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }

    private static (double Wall, double Cpu, IngestResult Result, long Allocated, int Gcs) Ingest(string corpus, string outputDir, bool near, CleaningSpec cleaning, PiiSpec pii)
    {
        var blobs = new FolderBlobStore(outputDir);
        var ingestor = new SourceIngestor(blobs, new IngestOptions { TempDir = Path.Combine(outputDir, ".tmp") }, TimeProvider.System,
            NullLogger<SourceIngestor>.Instance);
        var spec = new SourceSpec { Name = "bench", Paths = [corpus], EvalFraction = 0.01, ShardBytes = 64 << 20, Dedup = new DedupSpec { Near = near },
            Cleaning = cleaning, Pii = pii };
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var gcs = GC.CollectionCount(0);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var result = ingestor.IngestAsync(spec, "bench", _ => Task.CompletedTask, CancellationToken.None).GetAwaiter().GetResult();
        var wall = watch.Elapsed.TotalSeconds;
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        gcs = GC.CollectionCount(0) - gcs;
        Directory.Delete(outputDir, recursive: true);
        return (wall, used, result, allocated, gcs);
    }
}
