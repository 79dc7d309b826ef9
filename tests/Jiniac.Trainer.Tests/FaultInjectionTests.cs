using System.Text;
using System.Text.Json;

namespace Jiniac.Trainer.Tests;

/// <summary>JOB.json's <c>faults</c>: each strikes at its step, and the resume the launcher would do gets past it.</summary>
public sealed class FaultInjectionTests : IDisposable
{
    private const int Steps = 10;
    private const int CheckpointInterval = 4;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "jiniac-fault-tests-" + Guid.NewGuid().ToString("N"));
    private readonly string[] _prefixes;

    public FaultInjectionTests() =>
        _prefixes = [SyntheticData.WriteCounting(Path.Combine(_root, "data", "counting"), 60, seed: 5)];

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_crash_strikes_once_and_the_resume_passes_the_step()
    {
        var dir = Path.Combine(_root, "crash");
        var (exit, log) = await RunAsync(dir, Faults(("crash", 6)));

        Assert.True(exit == 1, log);
        Assert.Contains("fault injection: crash at step 6", log);
        Assert.Equal(5, Losses(dir).Keys.Max());

        (exit, log) = await RunAsync(dir, Faults(("crash", 6)), resumeFrom: Checkpoint(dir, 4));

        Assert.True(exit == 0, log);
        Assert.DoesNotContain("fault injection", log);
        Assert.True(File.Exists(Path.Combine(dir, "DONE.json")));
    }

    [Fact]
    public async Task An_abort_dies_by_SIGABRT()
    {
        var dir = Path.Combine(_root, "abort");
        var (exit, log) = await RunAsync(dir, Faults(("abort", 3)));

        Assert.True(exit == 128 + 6, log);
        Assert.Contains("fault injection: abort at step 3", log);
    }

    [Fact]
    public async Task A_hang_stays_alive_without_progress_and_a_resume_after_SIGKILL_completes()
    {
        var dir = Path.Combine(_root, "hang");
        var log = new StringBuilder();
        var job = TrainerProcess.WriteJob(dir, "JOB.json", Job(dir, Faults(("hang", 5))));
        using (var process = TrainerProcess.Start("train", job, dir, log))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (!TrainerProcess.Snapshot(log).Contains("fault injection: hanging at step 5", StringComparison.Ordinal))
            {
                Assert.False(process.HasExited, TrainerProcess.Snapshot(log));
                Assert.True(DateTime.UtcNow < deadline, TrainerProcess.Snapshot(log));
                await Task.Delay(50);
            }

            // Step 4's line is flushed before step 5 begins, and nothing follows it.
            Assert.False(process.HasExited);
            Assert.Equal(4, Losses(dir).Keys.Max());
            process.Kill();
            await TrainerProcess.WaitAsync(process, TimeSpan.FromMinutes(1));
        }

        var (exit, resumed) = await RunAsync(dir, Faults(("hang", 5)), resumeFrom: Checkpoint(dir, 4));

        Assert.True(exit == 0, resumed);
        Assert.Equal(Steps, Losses(dir).Keys.Max());
    }

    [Fact]
    public async Task A_bad_batch_spikes_or_poisons_every_time_it_is_trained_and_skipping_it_cures_the_run()
    {
        var spiked = Path.Combine(_root, "spike");
        var (exit, log) = await RunAsync(spiked, Faults(("spike", 6)));
        Assert.True(exit == 0, log);
        var losses = Losses(spiked);
        Assert.True(losses[6] > 100 * losses[5], $"{losses[6]} vs {losses[5]}");

        var dir = Path.Combine(_root, "nan");
        (exit, log) = await RunAsync(dir, Faults(("nan", 6)));
        Assert.True(exit == 0, log);
        losses = Losses(dir);
        Assert.True(double.IsFinite(losses[5]));
        // NaN weights after the update: every later step diverges too.
        Assert.All(Enumerable.Range(6, Steps - 5), s => Assert.True(double.IsNaN(losses[s]), $"step {s}: {losses[s]}"));

        // Not once: the same batch trained again (a resume without skipping) is as bad.
        (exit, log) = await RunAsync(dir, Faults(("nan", 6)), resumeFrom: Checkpoint(dir, 4));
        Assert.True(exit == 0, log);
        Assert.True(double.IsNaN(Losses(dir)[6]));

        (exit, log) = await RunAsync(dir, Faults(("nan", 6)), resumeFrom: Checkpoint(dir, 4), skip: (6, 7));
        Assert.True(exit == 0, log);
        losses = Losses(dir);
        Assert.All(new[] { 5, 7, 8, 9, 10 }, s => Assert.True(double.IsFinite(losses[s]), $"step {s}: {losses[s]}"));
    }

    [Fact]
    public async Task An_unknown_fault_kind_is_an_invalid_job()
    {
        var dir = Path.Combine(_root, "bad");
        var (exit, log) = await RunAsync(dir, Faults(("explode", 2)));

        Assert.True(exit == 2, log);
        Assert.Contains("faults:", log);
    }

    private static object[] Faults(params (string Kind, long Step)[] faults) =>
        [.. faults.Select(f => new Dictionary<string, object> { ["kind"] = f.Kind, ["step"] = f.Step })];

    private Dictionary<string, object?> Job(string dir, object[] faults, string? resumeFrom = null, (long From, long To)? skip = null)
    {
        var job = Jobs.Train(dir, _prefixes, Steps, CheckpointInterval, resumeFrom: resumeFrom);
        job["faults"] = faults;
        if (skip is { } range)
        {
            job["skip_batches"] = new object[] { new Dictionary<string, long> { ["from"] = range.From, ["to"] = range.To } };
        }

        return job;
    }

    private Task<(int ExitCode, string Log)> RunAsync(string dir, object[] faults, string? resumeFrom = null, (long From, long To)? skip = null) =>
        TrainerProcess.RunAsync("train", TrainerProcess.WriteJob(dir, "JOB.json", Job(dir, faults, resumeFrom, skip)), dir);

    private static string Checkpoint(string dir, long step)
    {
        var folder = Path.Combine(dir, "checkpoints", $"step_{step:D7}");
        Assert.True(File.Exists(Path.Combine(folder, "COMPLETE")), folder);
        return folder;
    }

    /// <summary>metrics.jsonl's losses by step (null, a diverged loss, as NaN); the later line for a step wins.</summary>
    private static SortedDictionary<long, double> Losses(string dir)
    {
        var result = new SortedDictionary<long, double>();
        foreach (var line in File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var loss = doc.RootElement.GetProperty("loss");
            result[doc.RootElement.GetProperty("step").GetInt64()] = loss.ValueKind == JsonValueKind.Null ? double.NaN : loss.GetDouble();
        }

        return result;
    }
}
