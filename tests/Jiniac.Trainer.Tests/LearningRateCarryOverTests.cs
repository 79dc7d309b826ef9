namespace Jiniac.Trainer.Tests;

/// <summary>
/// JOB.json's schedule_offset / schedule_total_steps: two stages trained back to back (the second from the first's
/// final weights), with the rate of every metrics line checked against the schedule's formula.
/// </summary>
public sealed class LearningRateCarryOverTests : IDisposable
{
    private const int FirstSteps = 6;
    private const int SecondSteps = 8;
    private const int Warmup = 5;
    private const double Peak = 3e-3;
    private const double Min = Peak / 10;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "jiniac-lr-tests-" + Guid.NewGuid().ToString("N"));
    private readonly string[] _prefixes;

    public LearningRateCarryOverTests() =>
        _prefixes = [SyntheticData.WriteCounting(Path.Combine(_root, "data", "counting"), 60, seed: 5)];

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>The contract's schedule at step g of a schedule spanning t steps: linear warm-up, then cosine to min_lr.</summary>
    private static double Expected(long g, long t) =>
        g <= Warmup ? Peak * g / Warmup : Min + (0.5 * (Peak - Min) * (1 + Math.Cos(Math.PI * (g - Warmup) / (t - Warmup))));

    [Fact]
    public async Task Restart_warms_up_again_and_decays_over_the_stages_own_steps()
    {
        var first = await RunStageAsync("restart-1", FirstSteps, null, offset: 0, total: 0);
        var second = await RunStageAsync("restart-2", SecondSteps, Final(first, FirstSteps), offset: 0, total: 0);

        AssertRates(first, FirstSteps, offset: 0, total: FirstSteps);
        AssertRates(second, SecondSteps, offset: 0, total: SecondSteps);
        Assert.Equal(Peak / Warmup, Metrics.Read(second)[1].Lr, 1e-15);
    }

    [Fact]
    public async Task Continue_goes_on_with_one_schedule_over_both_stages_and_a_resume_keeps_to_it()
    {
        const int total = FirstSteps + SecondSteps;
        var first = await RunStageAsync("continue-1", FirstSteps, null, offset: 0, total: total);
        var second = await RunStageAsync("continue-2", SecondSteps, Final(first, FirstSteps), offset: FirstSteps, total: total);

        AssertRates(first, FirstSteps, offset: 0, total: total);
        AssertRates(second, SecondSteps, offset: FirstSteps, total: total);
        // No new warm-up: the second stage's first step is step 7 of the schedule, already decaying from the peak.
        var rates = Metrics.Read(second);
        Assert.True(rates[1].Lr < Peak && rates[1].Lr > rates[SecondSteps].Lr);
        Assert.Equal(Min, rates[SecondSteps].Lr, 1e-15);

        // A resume of the second stage from its step-4 checkpoint logs steps 5.. again with the same rates.
        var job = Job(second, SecondSteps, null, FirstSteps, total);
        job["resume_from"] = Path.Combine(second, "checkpoints", "step_0000004");
        var (exit, log) = await TrainerProcess.RunAsync("train", TrainerProcess.WriteJob(second, "JOB.json", job), second);
        Assert.True(exit == 0, log);
        Assert.Equal(SecondSteps + (SecondSteps - 4), File.ReadAllLines(Path.Combine(second, "metrics.jsonl")).Length);
        AssertRates(second, SecondSteps, offset: FirstSteps, total: total);
    }

    [Fact]
    public async Task A_window_that_does_not_hold_the_jobs_steps_is_an_invalid_job()
    {
        var dir = Path.Combine(_root, "invalid");
        var (exit, log) = await TrainerProcess.RunAsync("train", TrainerProcess.WriteJob(dir, "JOB.json", Job(dir, SecondSteps, null, FirstSteps, FirstSteps + SecondSteps - 1)), dir);
        Assert.True(exit == 2, log);
        Assert.Contains("schedule_total_steps", log);
    }

    private static void AssertRates(string dir, int steps, long offset, long total)
    {
        var metrics = Metrics.Read(dir);
        Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), metrics.Keys);
        foreach (var (step, m) in metrics)
        {
            Assert.Equal(Expected(offset + step, total), m.Lr, 1e-15);
        }
    }

    private async Task<string> RunStageAsync(string name, int steps, string? initFrom, long offset, long total)
    {
        var dir = Path.Combine(_root, name);
        var (exit, log) = await TrainerProcess.RunAsync("train", TrainerProcess.WriteJob(dir, "JOB.json", Job(dir, steps, initFrom, offset, total)), dir);
        Assert.True(exit == 0, log);
        return dir;
    }

    private Dictionary<string, object?> Job(string dir, int steps, string? initFrom, long offset, long total)
    {
        var job = Jobs.Train(dir, _prefixes, steps, checkpointInterval: 4, initFrom: initFrom);
        var train = (Dictionary<string, object?>)job["train"]!;
        if (total != 0)
        {
            train["schedule_offset"] = offset;
            train["schedule_total_steps"] = total;
        }

        return job;
    }

    private static string Final(string dir, int step) => Path.Combine(dir, "checkpoints", $"step_{step:D7}");
}
