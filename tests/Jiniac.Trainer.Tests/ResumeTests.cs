using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Jiniac.Trainer.Tests;

/// <summary>Stopping (SIGTERM) or killing (SIGKILL) a run and resuming it must reproduce the uninterrupted loss curve.</summary>
public sealed class ResumeTests : IAsyncLifetime
{
    private const int Steps = 150;
    private const int CheckpointInterval = 20;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "jiniac-resume-tests-" + Guid.NewGuid().ToString("N"));
    private string[] _prefixes = [];

    public Task InitializeAsync()
    {
        var data = Path.Combine(_root, "data");
        _prefixes =
        [
            SyntheticData.WriteCounting(Path.Combine(data, "counting"), 200, seed: 3),
            SyntheticData.WritePhrases(Path.Combine(data, "phrases"), 150, seed: 4),
        ];
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Sigterm_saves_a_checkpoint_exits_75_and_the_resumed_run_matches()
    {
        var reference = await RunUninterruptedAsync();

        var dir = Path.Combine(_root, "stopped");
        var job = TrainerProcess.WriteJob(dir, "JOB.json", Jobs.Train(dir, _prefixes, Steps, CheckpointInterval));
        var log = new StringBuilder();
        using (var process = TrainerProcess.Start("train", job, dir, log))
        {
            await PollAsync(() => File.Exists(Path.Combine(dir, "metrics.jsonl")) && File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length >= 3, process, log);
            TrainerProcess.SendSigterm(process);
            await TrainerProcess.WaitAsync(process, TimeSpan.FromMinutes(1));
            Assert.True(process.ExitCode == 75, TrainerProcess.Snapshot(log));
        }

        Assert.False(File.Exists(Path.Combine(dir, "DONE.json")));
        var stoppedAt = LatestCompleteCheckpoint(dir);
        Assert.NotNull(stoppedAt);
        var (checkpoint, step) = stoppedAt.Value;
        Assert.InRange(step, 3, Steps - 1);
        // The checkpoint holds the last finished step: nothing trained after it was lost.
        Assert.Equal(Metrics.Read(dir).Keys.Max(), step);

        await ResumeAndCompareAsync(dir, checkpoint, step, reference);
    }

    [Fact]
    public async Task Sigkill_after_a_checkpoint_resumes_from_it_and_matches()
    {
        var reference = await RunUninterruptedAsync();

        var dir = Path.Combine(_root, "killed");
        var job = TrainerProcess.WriteJob(dir, "JOB.json", Jobs.Train(dir, _prefixes, Steps, CheckpointInterval));
        var log = new StringBuilder();
        var first = Path.Combine(dir, "checkpoints", "step_0000020");
        using (var process = TrainerProcess.Start("train", job, dir, log))
        {
            await PollAsync(() => Directory.Exists(first), process, log);
            process.Kill();
            await TrainerProcess.WaitAsync(process, TimeSpan.FromMinutes(1));
        }

        var latest = LatestCompleteCheckpoint(dir);
        Assert.NotNull(latest);
        await ResumeAndCompareAsync(dir, latest.Value.Folder, latest.Value.Step, reference);
    }

    private async Task<SortedDictionary<long, MetricsLine>> RunUninterruptedAsync()
    {
        var dir = Path.Combine(_root, "reference");
        var job = TrainerProcess.WriteJob(dir, "JOB.json", Jobs.Train(dir, _prefixes, Steps, CheckpointInterval));
        var (exit, log) = await TrainerProcess.RunAsync("train", job, dir);
        Assert.True(exit == 0, log);
        return Metrics.Read(dir);
    }

    private static async Task ResumeAndCompareAsync(string dir, string checkpoint, long step, SortedDictionary<long, MetricsLine> reference)
    {
        var job = TrainerProcess.WriteJob(dir, "JOB.resume.json", Jobs.Train(dir, ReadPrefixes(dir), Steps, CheckpointInterval, resumeFrom: checkpoint));
        var (exit, log) = await TrainerProcess.RunAsync("train", job, dir);
        Assert.True(exit == 0, log);

        var resumed = Metrics.Read(dir);
        Assert.Equal(Steps, resumed.Keys.Max());
        for (var s = step + 1; s <= Steps; s++)
        {
            var expected = reference[s];
            var actual = resumed[s];
            Assert.True(Math.Abs(actual.Loss - expected.Loss) <= 1e-4 * Math.Abs(expected.Loss), $"step {s}: loss {actual.Loss} vs uninterrupted {expected.Loss}");
            Assert.True(Math.Abs(actual.GradNorm - expected.GradNorm) <= 1e-4 * Math.Abs(expected.GradNorm), $"step {s}: grad norm {actual.GradNorm} vs {expected.GradNorm}");
            Assert.Equal(expected.Lr, actual.Lr, 1e-12);
        }

        using var done = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "DONE.json")));
        Assert.Equal(Steps, done.RootElement.GetProperty("step").GetInt64());
    }

    private static string[] ReadPrefixes(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "JOB.json")));
        var result = new List<string>();
        foreach (var d in doc.RootElement.GetProperty("data").EnumerateArray())
        {
            result.Add(d.GetProperty("prefix").GetString()!);
        }

        return [.. result];
    }

    private static (string Folder, long Step)? LatestCompleteCheckpoint(string dir)
    {
        (string, long)? best = null;
        foreach (var folder in Directory.GetDirectories(Path.Combine(dir, "checkpoints"), "step_*"))
        {
            var step = long.Parse(Path.GetFileName(folder)["step_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            if (File.Exists(Path.Combine(folder, "COMPLETE")) && (best is null || step > best.Value.Item2))
            {
                best = (folder, step);
            }
        }

        return best;
    }

    /// <summary>The pause between two looks while polling with a deadline.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private static async Task PollAsync(Func<bool> condition, Process process, StringBuilder log)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!condition())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the trainer ended or stalled before the awaited state:\n" + TrainerProcess.Snapshot(log));
            }

            await Task.Delay(PollInterval);
        }
    }
}
