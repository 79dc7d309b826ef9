using Jiniac.Hosting;
using System.Text;

namespace Jiniac.TrainLauncher.Tests;

public sealed class OutputsTests
{
    [Fact]
    public void The_metrics_follower_consumes_whole_lines_only_and_keeps_a_partial_line_for_later()
    {
        using var temp = new Jiniac.Tests.Infrastructure.TempFolder();
        var path = Path.Combine(temp.Path, "metrics.jsonl");
        File.WriteAllText(path, "{\"step\": 1, \"tokens\": 16, \"loss\": 9.5, \"lr\": 0.001, \"grad_norm\": 2.0, \"tokens_per_second\": 100}\n{\"step\": 2, \"tok");
        var follower = new MetricsFollower(path);

        var first = follower.ReadNew();
        Assert.Equal(1, Assert.Single(first).Step);

        File.AppendAllText(path, "ens\": 32, \"loss\": 9.0, \"lr\": 0.002, \"grad_norm\": 1.5, \"tokens_per_second\": 120}\nnot json\n");
        var second = follower.ReadNew();
        var line = Assert.Single(second);
        Assert.Equal((2L, 32L, 9.0, 0.002, 1.5, 120.0), (line.Step, line.Tokens, line.Loss, line.Lr, line.GradNorm, line.TokensPerSecond));
        Assert.Equal(new FileInfo(path).Length, follower.Offset);
        Assert.Empty(follower.ReadNew());
    }

    [Fact]
    public void Skipping_existing_metrics_starts_after_the_last_whole_line()
    {
        using var temp = new Jiniac.Tests.Infrastructure.TempFolder();
        var path = Path.Combine(temp.Path, "metrics.jsonl");
        var whole = "{\"step\": 1, \"tokens\": 16, \"loss\": 9.5, \"lr\": 0.001, \"grad_norm\": 2.0, \"tokens_per_second\": 100}\n";
        File.WriteAllText(path, whole + "{\"step\": 2,");
        var follower = new MetricsFollower(path);

        follower.SkipExisting();

        Assert.Equal(Encoding.UTF8.GetByteCount(whole), follower.Offset);
    }

    [Fact]
    public void A_dll_trainer_runs_under_dotnet_and_anything_else_directly()
    {
        var (dll, dllArgs) = TrainerProcess.Command("/opt/trainer/jiniac-trainer.dll");
        Assert.Equal("dotnet", dll);
        Assert.Equal(["/opt/trainer/jiniac-trainer.dll"], dllArgs);

        var (exe, exeArgs) = TrainerProcess.Command("/opt/trainer/jiniac-trainer");
        Assert.Equal("/opt/trainer/jiniac-trainer", exe);
        Assert.Empty(exeArgs);
    }

    [Fact]
    public void The_log_tail_is_the_last_lines()
    {
        using var temp = new Jiniac.Tests.Infrastructure.TempFolder();
        var path = Path.Combine(temp.Path, "trainer.log");
        File.WriteAllText(path, "one\ntwo\nthree\nfour\n");

        Assert.Equal("three\nfour", LogTail.Read(path, 2));
        Assert.Equal("one\ntwo\nthree\nfour", LogTail.Read(path, 10));
    }
}
