using System.Diagnostics;
using System.Globalization;
using System.Text;
using Jiniac.Text.Bpe;
using TiktokenTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;

namespace Jiniac.Bench;

/// <summary>
/// Encoding throughput on a text file: passes over all documents until the time is up, on one thread or with
/// Parallel.For over documents; cold (a fresh tokenizer per pass), cleared (our cache emptied per pass), without
/// cache, and warm. The encoder is ours (<see cref="BpeTokenizer"/>) or Microsoft.ML.Tokenizers' Tiktoken for
/// o200k (`--impl mlnet-o200k`). The checksum (sum of all ids of one pass) and the ids file let
/// tools/bench/run-tokenizer-bench.sh check that HF tokenizers gives the same output.
/// </summary>
internal static class TokenizeBench
{
    private const int IdsOutDocuments = 200;

    public static int Run(ReadOnlySpan<string> args, TextWriter output, TextWriter error)
    {
        string? tokenizerPath = null, textPath = null, idsOut = null;
        var impl = "jiniac";
        var threads = 1;
        var seconds = 10.0;
        var byLine = false;
        string[]? modes = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--tokenizer": tokenizerPath = value; i++; break;
                case "--text": textPath = value; i++; break;
                case "--ids-out": idsOut = value; i++; break;
                case "--impl": impl = value ?? ""; i++; break;
                case "--modes": modes = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries); i++; break;
                case "--threads":
                    threads = value == "all" ? Environment.ProcessorCount : int.Parse(value ?? "", CultureInfo.InvariantCulture);
                    i++;
                    break;
                case "--seconds": seconds = double.Parse(value ?? "", CultureInfo.InvariantCulture); i++; break;
                case "--split":
                    byLine = value switch
                    {
                        "lines" => true,
                        "paragraphs" => false,
                        _ => throw new ArgumentException($"--split must be paragraphs or lines, not '{value}'"),
                    };
                    i++;
                    break;
                default:
                    error.WriteLine($"unknown argument '{args[i]}'");
                    return 2;
            }
        }

        if (textPath is null || (tokenizerPath is null && impl != "mlnet-o200k") || threads < 1 || seconds <= 0)
        {
            error.WriteLine("tokenize needs --text FILE and, for --impl jiniac, --tokenizer FILE (--threads >= 1, --seconds > 0)");
            return 2;
        }

        Func<bool, IEncoder> create = impl switch
        {
            "jiniac" => JiniacEncoder.Factory(File.ReadAllBytes(tokenizerPath!)),
            // Any tokenizer file by its kind (.model, NAME.tiktoken, tokenizer.json), without cache control.
            "file" => _ => new FileEncoder(Jiniac.Text.TokenizerFiles.Load(tokenizerPath!)),
            // Microsoft.ML.Tokenizers' own o200k data (the .Data.O200kBase package), no special tokens.
            "mlnet-o200k" => _ => new MlNetEncoder(TiktokenTokenizer.CreateForEncoding("o200k_base")),
            _ => throw new ArgumentException($"--impl must be jiniac, file or mlnet-o200k, not '{impl}'"),
        };
        modes ??= impl == "jiniac" ? ["cold", "cleared", "nocache", "warm"] : ["cold", "warm"];

        var load = Stopwatch.StartNew();
        var encoder = create(true);
        var loadMs = load.Elapsed.TotalMilliseconds;
        var docs = Documents.Load(textPath, byLine);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{impl}: tokenizer loaded in {loadMs:F0} ms; {docs.Texts.Length} documents, {docs.Utf8Bytes / 1e6:F3} MB; {Environment.ProcessorCount} cores; {threads} thread(s)"));

        if (idsOut is not null)
        {
            WriteIds(encoder, docs, idsOut);
        }

        // Warm-up: lets tiered JIT reach its optimised code (HF's Rust needs none) and gives the checksum every
        // later pass must repeat.
        var (checksum, tokens) = Pass(encoder, docs.Texts, threads);
        foreach (var mode in modes)
        {
            var m = mode switch
            {
                // A fresh tokenizer per pass, so its cache starts empty: the cost of text never seen. Loading is not
                // timed (HF's side does the same).
                "cold" => MeasureCold(seconds, () => create(true), e => Pass(e, docs.Texts, threads)),
                // The same instance with its pre-token cache emptied before each pass: unseen text on a tokenizer whose
                // tables are already in the CPU caches, as in a long run.
                "cleared" => MeasureCold(seconds, () => encoder.ClearCache(), e => Pass(e, docs.Texts, threads)),
                // No cache at all: every pre-token is merged, even a repeat within the pass.
                "nocache" => MeasureWarm(seconds, create(false), e => Pass(e, docs.Texts, threads)),
                // The same instance pass after pass: nearly every pre-token is a cache hit.
                "warm" => MeasureWarm(seconds, encoder, e => Pass(e, docs.Texts, threads)),
                _ => throw new ArgumentException($"--modes: unknown mode '{mode}' (cold, cleared, nocache, warm)"),
            };
            Report(output, impl, mode, threads, m, docs, checksum, tokens);
        }

        return 0;
    }

    private static (long Checksum, long Tokens) Pass(IEncoder encoder, string[] texts, int threads)
    {
        if (threads == 1)
        {
            var ids = new List<int>(4096);
            long sum = 0, count = 0;
            foreach (var text in texts)
            {
                ids.Clear();
                encoder.Encode(text, ids);
                sum += Sum(ids);
                count += ids.Count;
            }

            return (sum, count);
        }

        long psum = 0, pcount = 0;
        Parallel.For(
            0,
            texts.Length,
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (Ids: new List<int>(4096), Sum: 0L, Count: 0L),
            (i, _, local) =>
            {
                local.Ids.Clear();
                encoder.Encode(texts[i], local.Ids);
                return (local.Ids, local.Sum + Sum(local.Ids), local.Count + local.Ids.Count);
            },
            local =>
            {
                Interlocked.Add(ref psum, local.Sum);
                Interlocked.Add(ref pcount, local.Count);
            });
        return (psum, pcount);
    }

    private static long Sum(List<int> ids)
    {
        long s = 0;
        foreach (var id in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids))
        {
            s += id;
        }

        return s;
    }

    // CpuSeconds: the process's processor time over the timed passes. The machine is shared, so wall time includes
    // waiting for a core; MB per CPU-second is the work itself, comparable across runs and with HF's side.
    private sealed record Measurement(int Passes, double Seconds, double CpuSeconds, long Checksum, long Tokens);

    private static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

    // Whole passes only, so every pass's checksum can be compared with the warm-up's.
    private static Measurement MeasureWarm(double seconds, IEncoder encoder, Func<IEncoder, (long Checksum, long Tokens)> pass)
    {
        pass(encoder);
        var cpu = Cpu();
        var watch = Stopwatch.StartNew();
        var passes = 0;
        (long Checksum, long Tokens) last;
        do
        {
            last = pass(encoder);
            passes++;
        }
        while (watch.Elapsed.TotalSeconds < seconds);

        return new Measurement(passes, watch.Elapsed.TotalSeconds, (Cpu() - cpu).TotalSeconds, last.Checksum, last.Tokens);
    }

    // Times only the passes, each on a new (or cleared) tokenizer, until they add up to the time (at most 20 passes).
    private static Measurement MeasureCold(double seconds, Func<IEncoder> prepare, Func<IEncoder, (long Checksum, long Tokens)> pass)
    {
        var timed = TimeSpan.Zero;
        var cpu = TimeSpan.Zero;
        var passes = 0;
        (long Checksum, long Tokens) last;
        do
        {
            var encoder = prepare();
            // Collect the garbage of loading (or of the cleared cache) now, so that no collection of it lands in the timed pass.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var cpu0 = Cpu();
            var watch = Stopwatch.StartNew();
            last = pass(encoder);
            timed += watch.Elapsed;
            cpu += Cpu() - cpu0;
            passes++;
        }
        while (timed.TotalSeconds < seconds && passes < 20);

        return new Measurement(passes, timed.TotalSeconds, cpu.TotalSeconds, last.Checksum, last.Tokens);
    }

    private static void Report(TextWriter output, string impl, string mode, int threads, Measurement m, Documents docs, long checksum, long tokens)
    {
        if (m.Checksum != checksum || m.Tokens != tokens)
        {
            throw new InvalidOperationException($"{mode}: a pass gave checksum {m.Checksum} / {m.Tokens} tokens, the warm-up {checksum} / {tokens}");
        }

        var mbPerSecond = docs.Utf8Bytes * (double)m.Passes / m.Seconds / 1e6;
        var tokensPerSecond = tokens * (double)m.Passes / m.Seconds;
        var mbPerCpuSecond = docs.Utf8Bytes * (double)m.Passes / m.CpuSeconds / 1e6;
        // One machine-readable line per measurement; run-tokenizer-bench.sh parses these.
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT impl={impl} mode={mode} threads={threads} mb_s={mbPerSecond:F2} tokens_s={tokensPerSecond:F0} checksum={checksum} tokens={tokens} bytes={docs.Utf8Bytes} passes={m.Passes} seconds={m.Seconds:F2} cpu_s={m.CpuSeconds:F2} cpu_mb_s={mbPerCpuSecond:F2}"));
    }

    private static void WriteIds(IEncoder encoder, Documents docs, string path)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.NewLine = "\n";
        var ids = new List<int>(4096);
        var line = new StringBuilder();
        for (var d = 0; d < Math.Min(IdsOutDocuments, docs.Texts.Length); d++)
        {
            ids.Clear();
            encoder.Encode(docs.Texts[d], ids);
            line.Clear().Append('[');
            for (var i = 0; i < ids.Count; i++)
            {
                if (i > 0)
                {
                    line.Append(',');
                }

                line.Append(ids[i].ToString(CultureInfo.InvariantCulture));
            }

            writer.WriteLine(line.Append(']'));
        }
    }

    private interface IEncoder
    {
        void Encode(string text, List<int> ids);

        /// <summary>Empties the cache and returns this encoder.</summary>
        IEncoder ClearCache();
    }

    private sealed class JiniacEncoder(BpeTokenizer tokenizer) : IEncoder
    {
        public static Func<bool, IEncoder> Factory(byte[] json) =>
            cached => new JiniacEncoder(BpeTokenizer.FromJson(json, cached ? BpeTokenizer.DefaultCacheCapacity : 0));

        public void Encode(string text, List<int> ids) => tokenizer.Encode(text, ids);

        public IEncoder ClearCache()
        {
            tokenizer.ClearCache();
            return this;
        }
    }

    private sealed class FileEncoder(Jiniac.Text.ITextTokenizer tokenizer) : IEncoder
    {
        public void Encode(string text, List<int> ids) => tokenizer.Encode(text, ids);

        public IEncoder ClearCache() => throw new NotSupportedException("--impl file has no cache control: use --modes cold,warm");
    }

    private sealed class MlNetEncoder(TiktokenTokenizer tokenizer) : IEncoder
    {
        public void Encode(string text, List<int> ids) => ids.AddRange(tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true));

        public IEncoder ClearCache() => throw new NotSupportedException("Microsoft.ML.Tokenizers has no cache clearing: use --modes cold,warm");
    }
}
