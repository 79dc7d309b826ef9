using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Jiniac.Trainer.Tests;

/// <summary>The bench verb (docs/benchmarks.md, "Reference trainer MFU") at a toy shape: it runs, counts right, refuses bad options.</summary>
public sealed partial class BenchTests
{
    [Fact]
    public async Task Bench_PrintsTheTableWithParameterCountsAndAPositiveMfu()
    {
        var (exit, output) = await RunAsync(
            "bench", "--layers", "1", "--hidden", "32", "--heads", "4", "--kv-heads", "2", "--intermediate", "64", "--vocab", "64",
            "--seq", "16", "--batch", "2", "--steps", "2", "--warmup", "1", "--gemm", "64", "--gemm-reps", "2", "--threads", "1");

        Assert.True(exit == 0, output);

        // By hand: embed 64·32 (tied head) + q 32·32 + k,v 16·32 each + o 32·32 + MLP 3·64·32 = 11,264 in
        // matmuls, plus two layer norms and the final norm (3·32) = 11,360.
        Assert.Contains("parameters: 11,360 in all, 11,264 in matmuls (N)", output);

        // 6N + 12·L·H·Q·T = 67,584 + 12·1·4·8·16 = 73,728 FLOPs per token.
        Assert.Contains("| model FLOPs per token, 6N + 12·L·H·Q·T | 0.1 M (0.1 M + 0.0 M) |", output);
        var mfu = MfuRow().Match(output);
        Assert.True(mfu.Success, output);
        Assert.True(double.Parse(mfu.Groups[1].Value, CultureInfo.InvariantCulture) > 0, output);
        Assert.Contains("| backward |", output);
    }

    [Fact]
    public async Task Bench_RefusesAnUnknownOptionWithUsage()
    {
        var (exit, output) = await RunAsync("bench", "--layer", "8");

        Assert.Equal(2, exit);
        Assert.Contains("unknown option --layer", output);
        Assert.Contains("usage: jiniac-trainer bench", output);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(TrainerProcess.TrainerDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await TrainerProcess.WaitAsync(process, TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"\| \*\*MFU\*\* = model FLOP/s ÷ GEMM FLOP/s \| \*\*([0-9.]+) %\*\* \|")]
    private static partial Regex MfuRow();
}
