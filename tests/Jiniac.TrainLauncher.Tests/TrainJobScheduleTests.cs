using System.Text.Json;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>LaunchTraining's learning-rate window as JOB.json renders it (train.schedule_offset / schedule_total_steps).</summary>
public sealed class TrainJobScheduleTests
{
    [Fact]
    public async Task A_stage_of_its_own_renders_the_job_it_always_did_and_a_continuing_stage_renders_its_window()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        var command = LauncherFixture.Command(steps: 10);
        var dir = Path.Combine(fixture.TrainDir, "render");

        var plain = await TrainJobs.RenderAsync(command, dir, fixture.Host.Blobs, CancellationToken.None);
        var own = await TrainJobs.RenderAsync(command with { ScheduleOffsetSteps = 0, ScheduleTotalSteps = 10 }, dir, fixture.Host.Blobs, CancellationToken.None);
        var continuing = await TrainJobs.RenderAsync(command with { ScheduleOffsetSteps = 6, ScheduleTotalSteps = 16 }, dir, fixture.Host.Blobs, CancellationToken.None);

        var plainTrain = JsonDocument.Parse(TrainJobs.Serialize(plain)).RootElement.GetProperty("train");
        Assert.False(plainTrain.TryGetProperty("schedule_offset", out _));
        Assert.False(plainTrain.TryGetProperty("schedule_total_steps", out _));
        Assert.Equal(plain.JobHash, own.JobHash);

        var train = JsonDocument.Parse(TrainJobs.Serialize(continuing)).RootElement.GetProperty("train");
        Assert.Equal(6, train.GetProperty("schedule_offset").GetInt64());
        Assert.Equal(16, train.GetProperty("schedule_total_steps").GetInt64());
        // The schedule is part of what is trained: a checkpoint of the other job is not resumed from.
        Assert.NotEqual(plain.JobHash, continuing.JobHash);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TrainJobs.RenderAsync(command with { ScheduleOffsetSteps = 6, ScheduleTotalSteps = 15 }, dir, fixture.Host.Blobs, CancellationToken.None));
        Assert.Contains("learning-rate window", error.Message);
    }
}
