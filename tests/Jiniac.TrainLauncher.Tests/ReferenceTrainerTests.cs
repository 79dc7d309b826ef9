using System.Reflection;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Hosting.Bus;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>
/// The launcher's babysitting against the real reference trainer (tools/Jiniac.Trainer, TorchSharp), with a fault
/// injected through TrainLauncher:Faults into its JOB.json: a tiny model, a few dozen steps.
/// </summary>
public sealed class ReferenceTrainerTests
{
    private static string TrainerDll()
    {
        var configuration = typeof(ReferenceTrainerTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Jiniac.Platform.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var dll = Path.Combine(dir.FullName, "tools", "Jiniac.Trainer", "bin", configuration, "net10.0", "jiniac-trainer.dll");
        Assert.True(File.Exists(dll), $"build tools/Jiniac.Trainer first: {dll}");
        return dll;
    }

    [Fact]
    public async Task A_batch_that_poisons_the_real_trainer_with_NaN_is_rolled_back_skipped_and_the_stage_completes()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Trainer"] = TrainerDll(),
            ["Faults:0:Kind"] = "nan",
            ["Faults:0:Step"] = "11",
        };
        await using var fixture = await LauncherFixture.StartAsync(settings: settings, shardTokens: 4096);
        // Throughput alerts off: a model this small takes microseconds a step, all noise.
        var command = LauncherFixture.Command(steps: 24, checkpointInterval: 4, supervision: LauncherFixture.Supervision with { LowThroughputRatio = 0 });
        command = command with { Training = command.Training with { Threads = 1 } };
        await fixture.Host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

        var completed = await fixture.Events.WaitForAsync<TrainingCompleted>(timeout: TimeSpan.FromMinutes(3));

        Assert.Equal(24, completed.FinalStep);
        Assert.True(double.IsFinite(completed.FinalLoss));
        var alerts = fixture.Events.Of<AlertRaised>();
        Assert.Equal([TrainingAlertKinds.LossSpike, TrainingAlertKinds.RolledBack], alerts.Select(a => a.Kind));
        Assert.Equal(11, alerts[0].Step);
        Assert.Equal(8, alerts[1].Step);
        Assert.Contains("skipping batches [11, 12)", alerts[1].Message);
        Assert.Equal(8, fixture.Events.Of<TrainingStarted>()[1].ResumedFromStep);

        var job = fixture.ReadJson(Path.Combine(fixture.TrainDir, "JOB.json"));
        Assert.Equal("nan", job.GetProperty("faults")[0].GetProperty("kind").GetString());
        var log = await File.ReadAllTextAsync(Path.Combine(fixture.TrainDir, "trainer.log"));
        Assert.Contains("Fault injection: nan at step 11", log);
        Assert.Contains("Step 11: batch skipped as asked (skip_batches)", log);
        // The final weights come from the lineage that skipped the bad batch: finite.
        var state = fixture.ReadJson(Path.Combine(fixture.CheckpointFolder(24), "trainer_state.json"));
        Assert.Equal(JsonValueKind.Number, state.GetProperty("loss").ValueKind);
    }
}
