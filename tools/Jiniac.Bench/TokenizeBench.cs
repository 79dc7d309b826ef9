using System.Diagnostics;
using System.Globalization;
using System.Text;
using Jiniac.Text.Bpe;

namespace Jiniac.Bench;

/// <summary>
/// Encoding throughput of <see cref="BpeTokenizer"/> on a text file: passes over all documents until the time
/// is up, single-threaded and optionally with Parallel.For over documents. The checksum (sum of all ids of one
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
        var alsoNoCache = false;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--tokenizer": tokenizerPath = value; i++; break;
                case "--text": textPath = value; i++; break;
                case "--ids-out": idsOut = value; i++; break;
                case "--also-no-cache": alsoNoCache = true; break;
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

        var load = Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.FromFile(tokenizerPath);
        var loadMs = load.Elapsed.TotalMilliseconds;
        var docs = Documents.Load(textPath, byLine);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"jiniac: tokenizer {Path.GetFileName(tokenizerPath)} loaded in {loadMs:F0} ms; {docs.Texts.Length} documents, {docs.Utf8Bytes / 1e6:F3} MB; {Environment.ProcessorCount} cores"));

        if (idsOut is not null)
        {
            WriteIds(tokenizer, docs, idsOut);
        }

        // Warm-up: the first pass fills the pre-token cache and lets tiered JIT reach its optimised code,
        // as HF's side gets its own warm-up pass.
        var (checksum, tokens) = SinglePass(tokenizer, docs.Texts);
        Report(output, "single", 1, Measure(seconds, () => SinglePass(tokenizer, docs.Texts)), docs, checksum, tokens);
        if (threads > 1)
        {
            ParallelPass(tokenizer, docs.Texts, threads);
            Report(output, "parallel", threads, Measure(seconds, () => ParallelPass(tokenizer, docs.Texts, threads)), docs, checksum, tokens);
        }

        if (alsoNoCache)
        {
            // The passes above repeat the same text, so after the first one nearly every pre-token is a cache hit;
            // this shows the cost of actually merging (HF's BPE also caches, up to 10,000 words).
            var uncached = BpeTokenizer.FromFile(tokenizerPath, cacheCapacity: 0);
            SinglePass(uncached, docs.Texts);
            Report(output, "single-nocache", 1, Measure(seconds, () => SinglePass(uncached, docs.Texts)), docs, checksum, tokens);
        }

        return 0;
    }

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
    private static Measurement Measure(double seconds, Func<(long Checksum, long Tokens)> pass)
    {
        var watch = Stopwatch.StartNew();
        var passes = 0;
        (long Checksum, long Tokens) last;
        do
        {
            last = pass();
            passes++;
        }
        while (watch.Elapsed.TotalSeconds < seconds);

        return new Measurement(passes, watch.Elapsed.TotalSeconds, last.Checksum, last.Tokens);
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
