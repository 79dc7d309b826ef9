using Jiniac.Contracts;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>`jiniac replay --from-checkpoint`: the launcher resumes from the chosen step and keeps the later checkpoints aside.</summary>
public sealed class ReplayFromCheckpointTests
{
    private static Task SendAsync<T>(LauncherFixture fixture, T command) where T : class =>
        fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    [Fact]
    public async Task A_replay_from_step_4_of_a_finished_stage_moves_8_and_10_aside_once_and_trains_them_anew()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 10));
        await fixture.Events.WaitForAsync<TrainingCompleted>();
        var oldStep8 = await File.ReadAllTextAsync(Path.Combine(fixture.CheckpointFolder(8), "trainer_state.json"));

        var replay = LauncherFixture.Command(steps: 10, attempt: 2) with { ResumeFromStep = 4 };
        await SendAsync(fixture, replay);
        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2);

        Assert.Equal(4, fixture.Events.Of<TrainingStarted>().Single(s => s.Attempt == 2).ResumedFromStep);
        Assert.Equal([8L, 10L], fixture.Events.Of<CheckpointSaved>().Where(c => c.Attempt == 2 && c.Step > 4).Select(c => c.Step));
        Assert.Equal(10, completed.FinalStep);
        var aside = Path.Combine(fixture.TrainDir, "replayed", "attempt-2");
        Assert.Equal(oldStep8, await File.ReadAllTextAsync(Path.Combine(aside, "step_0000008", "trainer_state.json")));
        Assert.True(File.Exists(Path.Combine(aside, "step_0000010", "COMPLETE")));
        Assert.True(File.Exists(Path.Combine(aside, "DONE.json")));
        Assert.True(File.Exists(Path.Combine(fixture.CheckpointFolder(4), "COMPLETE")));
        Assert.Contains($"resuming from {fixture.CheckpointFolder(4)} at step 4", await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log")));

        // The same attempt re-issued (a host restart, a reminder) keeps what it trained: nothing is moved aside again.
        var newStep10 = await File.ReadAllTextAsync(Path.Combine(fixture.CheckpointFolder(10), "trainer_state.json"));
        await SendAsync(fixture, replay);
        await fixture.Events.WaitForAsync<TrainingCompleted>(c => c.Attempt == 2 && !ReferenceEquals(c, completed));
        Assert.Equal(2, fixture.Events.Of<TrainingStarted>().Count);
        Assert.Equal(newStep10, await File.ReadAllTextAsync(Path.Combine(fixture.CheckpointFolder(10), "trainer_state.json")));
        Assert.Equal(["step_0000008", "step_0000010"], Directory.GetDirectories(aside).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_replay_from_a_step_without_a_checkpoint_fails_the_launch_naming_the_step()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        await SendAsync(fixture, LauncherFixture.Command(steps: 6) with { ResumeFromStep = 5 });
        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();
        Assert.Contains("step 5", failed.Reason);
        Assert.Empty(fixture.Events.Of<TrainingStarted>());
    }
}
