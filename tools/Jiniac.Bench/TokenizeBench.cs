using System.Diagnostics;
using System.Globalization;
using System.Text;
using Jiniac.Text.Bpe;

namespace Jiniac.Bench;

/// <summary>
/// Encoding throughput of <see cref="BpeTokenizer"/> on a text file: passes over all documents until the time
/// is up, on one thread or with Parallel.For over documents, cold (fresh cache), without cache and warm. The checksum (sum of all ids of one
/// pass) and the ids file let tools/bench/run-tokenizer-bench.sh check that HF tokenizers gives the same output.
/// </summary>
internal static class TokenizeBench
{
    private const int IdsOutDocuments = 200;

    public static int Run(ReadOnlySpan<string> args, TextWriter output, TextWriter error)
    {
        string? tokenizerPath = null, textPath = null, idsOut = null;
        var threads = 1;
        var seconds = 10.0;
        var byLine = false;
        string[] modes = ["cold", "cleared", "nocache", "warm"];
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--tokenizer": tokenizerPath = value; i++; break;
                case "--text": textPath = value; i++; break;
                case "--ids-out": idsOut = value; i++; break;
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

        if (tokenizerPath is null || textPath is null || threads < 1 || seconds <= 0)
        {
            error.WriteLine("tokenize needs --tokenizer FILE and --text FILE (--threads >= 1, --seconds > 0)");
            return 2;
        }

        var json = File.ReadAllBytes(tokenizerPath);
        var load = Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.FromJson(json);
        var loadMs = load.Elapsed.TotalMilliseconds;
        var docs = Documents.Load(textPath, byLine);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"jiniac: tokenizer {Path.GetFileName(tokenizerPath)} loaded in {loadMs:F0} ms; {docs.Texts.Length} documents, {docs.Utf8Bytes / 1e6:F3} MB; {Environment.ProcessorCount} cores; {threads} thread(s)"));

        if (idsOut is not null)
        {
            WriteIds(tokenizer, docs, idsOut);
        }

        // Warm-up: lets tiered JIT reach its optimised code (HF's Rust needs none) and gives the checksum every
        // later pass must repeat.
        var (checksum, tokens) = Pass(tokenizer, docs.Texts, threads);
        foreach (var mode in modes)
        {
            var m = mode switch
            {
                // A fresh tokenizer per pass, so its pre-token cache starts empty: the cost of text never seen.
                // Loading is not timed (HF's side does the same).
                "cold" => MeasureCold(seconds, () => BpeTokenizer.FromJson(json), t => Pass(t, docs.Texts, threads)),
                // The same instance with its pre-token cache emptied before each pass: unseen text on a tokenizer whose
                // tables are already in the CPU caches, as in a long run.
                "cleared" => MeasureCold(seconds, () => { tokenizer.ClearCache(); return tokenizer; }, t => Pass(t, docs.Texts, threads)),
                // No cache at all: every pre-token is merged, even a repeat within the pass.
                "nocache" => MeasureWarm(seconds, BpeTokenizer.FromJson(json, cacheCapacity: 0), t => Pass(t, docs.Texts, threads)),
                // The same instance pass after pass: nearly every pre-token is a cache hit.
                "warm" => MeasureWarm(seconds, tokenizer, t => Pass(t, docs.Texts, threads)),
                _ => throw new ArgumentException($"--modes: unknown mode '{mode}' (cold, cleared, nocache, warm)"),
            };
            Report(output, mode, threads, m, docs, checksum, tokens);
        }

        return 0;
    }

    private static (long Checksum, long Tokens) Pass(BpeTokenizer tokenizer, string[] texts, int threads) =>
        threads == 1 ? SinglePass(tokenizer, texts) : ParallelPass(tokenizer, texts, threads);

    private static (long Checksum, long Tokens) SinglePass(BpeTokenizer tokenizer, string[] texts)
    {
        var ids = new List<int>(4096);
        long sum = 0, count = 0;
        foreach (var text in texts)
        {
            ids.Clear();
            tokenizer.Encode(text, ids);
            sum += Sum(ids);
            count += ids.Count;
        }

        return (sum, count);
    }

    private static (long Checksum, long Tokens) ParallelPass(BpeTokenizer tokenizer, string[] texts, int threads)
    {
        long sum = 0, count = 0;
        Parallel.For(
            0,
            texts.Length,
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (Ids: new List<int>(4096), Sum: 0L, Count: 0L),
            (i, _, local) =>
            {
                local.Ids.Clear();
                tokenizer.Encode(texts[i], local.Ids);
                return (local.Ids, local.Sum + Sum(local.Ids), local.Count + local.Ids.Count);
            },
            local =>
            {
                Interlocked.Add(ref sum, local.Sum);
                Interlocked.Add(ref count, local.Count);
            });
        return (sum, count);
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

    private sealed record Measurement(int Passes, double Seconds, long Checksum, long Tokens);

    // Whole passes only, so every pass's checksum can be compared with the warm-up's.
    private static Measurement MeasureWarm(double seconds, BpeTokenizer tokenizer, Func<BpeTokenizer, (long Checksum, long Tokens)> pass)
    {
        pass(tokenizer);
        var watch = Stopwatch.StartNew();
        var passes = 0;
        (long Checksum, long Tokens) last;
        do
        {
            last = pass(tokenizer);
            passes++;
        }
        while (watch.Elapsed.TotalSeconds < seconds);

        return new Measurement(passes, watch.Elapsed.TotalSeconds, last.Checksum, last.Tokens);
    }

    // Times only the passes, each on a new tokenizer, until they add up to the time (at most 20 passes).
    private static Measurement MeasureCold(double seconds, Func<BpeTokenizer> create, Func<BpeTokenizer, (long Checksum, long Tokens)> pass)
    {
        var timed = TimeSpan.Zero;
        var passes = 0;
        (long Checksum, long Tokens) last;
        do
        {
            var tokenizer = create();
            // Collect the garbage of loading (or of the cleared cache) now, so that no collection of it lands in the timed pass.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var watch = Stopwatch.StartNew();
            last = pass(tokenizer);
            timed += watch.Elapsed;
            passes++;
        }
        while (timed.TotalSeconds < seconds && passes < 20);

        return new Measurement(passes, timed.TotalSeconds, last.Checksum, last.Tokens);
    }

    private static void Report(TextWriter output, string mode, int threads, Measurement m, Documents docs, long checksum, long tokens)
    {
        if (m.Checksum != checksum || m.Tokens != tokens)
        {
            throw new InvalidOperationException($"{mode}: a pass gave checksum {m.Checksum} / {m.Tokens} tokens, the warm-up {checksum} / {tokens}");
        }

        var mbPerSecond = docs.Utf8Bytes * (double)m.Passes / m.Seconds / 1e6;
        var tokensPerSecond = tokens * (double)m.Passes / m.Seconds;
        // One machine-readable line per measurement; run-tokenizer-bench.sh parses these.
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT impl=jiniac mode={mode} threads={threads} mb_s={mbPerSecond:F2} tokens_s={tokensPerSecond:F0} checksum={checksum} tokens={tokens} bytes={docs.Utf8Bytes} passes={m.Passes} seconds={m.Seconds:F2}"));
    }

    private static void WriteIds(BpeTokenizer tokenizer, Documents docs, string path)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.NewLine = "\n";
        var ids = new List<int>(4096);
        var line = new StringBuilder();
        for (var d = 0; d < Math.Min(IdsOutDocuments, docs.Texts.Length); d++)
        {
            ids.Clear();
            tokenizer.Encode(docs.Texts[d], ids);
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
}
