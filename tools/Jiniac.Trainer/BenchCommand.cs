using System.Diagnostics;
using System.Globalization;
using Jiniac.Formats.HuggingFace;
using Jiniac.Modeling;
using static TorchSharp.torch;

namespace Jiniac.Trainer;

/// <summary>
/// The bench verb: the reference trainer's model FLOPs utilisation (docs/benchmarks.md, "Reference
/// trainer MFU"). In one run it measures the fp32 GEMM throughput this libtorch reaches on the machine
/// (the yardstick) and the training throughput of <see cref="TrainStep"/> at a small LLaMA shape, and
/// prints MFU = model FLOP/s ÷ GEMM FLOP/s. Random weights and random tokens: the step's cost does not
/// depend on the data (the sampler's copy of one batch from the token files is left out; it is a
/// memcpy of batch × (seq + 1) ids).
/// </summary>
public sealed class BenchCommand
{
    private int _layers = 8;
    private int _hidden = 512;
    private int _heads = 8;
    private int _kvHeads = 4;
    private int _intermediate = 1376;
    private int _vocab = 32000;
    private int _seq = 512;
    private int _batch = 4;
    private int _steps = 5;
    private int _warmup = 2;
    private int _gemm = 4096;
    private int _gemmReps = 5;
    private int _threads;

    public const string Usage = "jiniac-trainer bench [--layers 8] [--hidden 512] [--heads 8] [--kv-heads 4] [--intermediate 1376] "
        + "[--vocab 32000] [--seq 512] [--batch 4] [--steps 5] [--warmup 2] [--gemm 4096] [--gemm-reps 5] [--threads 0 (= all cores)]";

    /// <summary>Parses the options after "bench"; an unknown option or a bad number throws ArgumentException naming it.</summary>
    public static BenchCommand Parse(ReadOnlySpan<string> args)
    {
        var b = new BenchCommand();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] is "--help" or "-h")
            {
                throw new ArgumentException("bench: the options and their defaults");
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                || (value <= 0 && args[i] != "--threads" && args[i] != "--warmup"))
            {
                throw new ArgumentException($"bench: {args[i]} needs a positive whole number");
            }

            switch (args[i])
            {
                case "--layers": b._layers = value; break;
                case "--hidden": b._hidden = value; break;
                case "--heads": b._heads = value; break;
                case "--kv-heads": b._kvHeads = value; break;
                case "--intermediate": b._intermediate = value; break;
                case "--vocab": b._vocab = value; break;
                case "--seq": b._seq = value; break;
                case "--batch": b._batch = value; break;
                case "--steps": b._steps = value; break;
                case "--warmup": b._warmup = value; break;
                case "--gemm": b._gemm = value; break;
                case "--gemm-reps": b._gemmReps = value; break;
                case "--threads": b._threads = value; break;
                default: throw new ArgumentException($"bench: unknown option {args[i]}");
            }
        }

        return b;
    }

    public int Run(TextWriter output)
    {
        var threads = _threads > 0 ? _threads : Environment.ProcessorCount;
        set_num_threads(threads);
        var config = new LlamaConfig
        {
            VocabSize = _vocab,
            HiddenSize = _hidden,
            IntermediateSize = _intermediate,
            NumHiddenLayers = _layers,
            NumAttentionHeads = _heads,
            NumKeyValueHeads = _kvHeads,
            MaxPositionEmbeddings = _seq,
            TieWordEmbeddings = true,
        };
        config.Validate();

        var load = LoadAverage();
        var (gemmFlops, gemmCpuFlops) = GemmFlops(_gemm, _gemmReps, threads);
        var (tokensPerSecond, cpuTokensPerSecond, times, parameters) = TrainThroughput(config, threads);
        var loadAfter = LoadAverage();

        // PaLM (Chowdhery et al. 2022, appendix B): 6N + 12·L·H·Q·T per token. N counts the weights that
        // take part in a matmul per token: every projection and the LM head (the tied embedding counted
        // once, as the head); the embedding gather and the RMSNorm gains do no matmul and are left out.
        // The attention term counts the full T×T scores, as PaLM does, though causal kernels skip half.
        var matmulParameters = MatmulParameters(config);
        var attentionPerToken = 12.0 * _layers * _heads * config.HeadDim * _seq;
        var flopsPerToken = (6.0 * matmulParameters) + attentionPerToken;
        var modelFlops = flopsPerToken * tokensPerSecond;
        var mfu = modelFlops / gemmFlops;
        var cpuMfu = flopsPerToken * cpuTokensPerSecond / gemmCpuFlops;

        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"shape: {_layers} layers, hidden {_hidden}, {_heads} heads / {_kvHeads} kv heads (head dim {config.HeadDim}), intermediate {_intermediate}, vocab {_vocab} (tied), seq {_seq}, micro-batch {_batch}; {threads} threads"));
        output.WriteLine(string.Create(c, $"parameters: {parameters:N0} in all, {matmulParameters:N0} in matmuls (N); load average {load} before, {loadAfter} after"));
        output.WriteLine();
        output.WriteLine("| figure | value |");
        output.WriteLine("| --- | --- |");
        output.WriteLine(string.Create(c, $"| fp32 GEMM {_gemm}×{_gemm} (best of {_gemmReps}) | {gemmFlops / 1e9:F1} GFLOP/s |"));
        output.WriteLine(string.Create(c, $"| training tokens/s (mean of {_steps} steps after {_warmup} warm-up) | {tokensPerSecond:F0} |"));
        output.WriteLine(string.Create(c, $"| model FLOPs per token, 6N + 12·L·H·Q·T | {flopsPerToken / 1e6:F1} M ({6.0 * matmulParameters / 1e6:F1} M + {attentionPerToken / 1e6:F1} M) |"));
        output.WriteLine(string.Create(c, $"| model FLOP/s | {modelFlops / 1e9:F1} GFLOP/s |"));
        output.WriteLine(string.Create(c, $"| **MFU** = model FLOP/s ÷ GEMM FLOP/s | **{mfu * 100:F1} %** |"));
        output.WriteLine(string.Create(c, $"| MFU per CPU-second (both rates over process CPU time ÷ threads; for a shared machine) | {cpuMfu * 100:F1} % (GEMM {gemmCpuFlops / 1e9:F1} GFLOP/s, {cpuTokensPerSecond:F0} tokens/s) |"));
        output.WriteLine();
        output.WriteLine("| phase (per step) | seconds | share |");
        output.WriteLine("| --- | --- | --- |");
        foreach (var (name, seconds) in new[] { ("forward + loss", times.Forward), ("backward", times.Backward), ("grad clip (norm)", times.Clip), ("AdamW + loss.item", times.Optimizer) })
        {
            output.WriteLine(string.Create(c, $"| {name} | {seconds / times.Steps:F3} | {seconds / times.Total * 100:F1} % |"));
        }

        output.WriteLine(string.Create(c, $"| step | {times.Total / times.Steps:F3} | |"));
        return 0;
    }

    /// <summary>
    /// Best of <paramref name="reps"/> n×n×n fp32 matmuls after one warm-up, in FLOP/s (2n³ per product),
    /// over wall time and over the process's CPU time ÷ threads (what the run got of a shared machine).
    /// </summary>
    private static (double Wall, double Cpu) GemmFlops(int n, int reps, int threads)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        var a = randn([n, n], generator: generator);
        var b = randn([n, n], generator: generator);
        // The product's allocation is timed too; at n ≥ 2048 it is far below 1 % of the multiply.
        matmul(a, b).Dispose();
        var best = double.MaxValue;
        var bestCpu = double.MaxValue;
        for (var i = 0; i < reps; i++)
        {
            var cpu = CpuSeconds();
            var start = Stopwatch.GetTimestamp();
            matmul(a, b).Dispose();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            bestCpu = Math.Min(bestCpu, (CpuSeconds() - cpu) / threads);
        }

        var flops = 2.0 * n * n * n;
        return (flops / best, flops / bestCpu);
    }

    private (double TokensPerSecond, double CpuTokensPerSecond, StepTimes Times, long Parameters) TrainThroughput(LlamaConfig config, int threads)
    {
        using var model = LlamaForCausalLM.CreateRandom(config, seed: 1);
        using var optimizer = new AdamW(model.Parameters, 0.9, 0.95, 1e-8, 0.1);
        var step = new TrainStep(model, optimizer, gradClip: 1.0);
        using var generator = new Generator(2);
        using var batch = randint(0, _vocab, [_batch, _seq + 1], dtype: ScalarType.Int64, generator: generator);
        using var inputs = batch.narrow(1, 0, _seq);
        using var targets = batch.narrow(1, 1, _seq);
        for (var i = 0; i < _warmup; i++)
        {
            step.Run(inputs, targets, 1.0, 3e-4);
        }

        var times = new StepTimes();
        var cpu = CpuSeconds();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < _steps; i++)
        {
            step.Run(inputs, targets, 1.0, 3e-4, times);
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpuSeconds = (CpuSeconds() - cpu) / threads;
        var tokens = (double)_steps * _batch * _seq;
        return (tokens / seconds, tokens / cpuSeconds, times, model.ParameterCount);
    }

    private static long MatmulParameters(LlamaConfig c)
    {
        long h = c.HiddenSize;
        long kv = (long)c.KeyValueHeads * c.HeadDim;
        var perLayer = (2 * h * h) + (2 * kv * h) + (3L * c.IntermediateSize * h);
        return (perLayer * c.NumHiddenLayers) + ((long)c.VocabSize * h);
    }

    private static double CpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    private static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
