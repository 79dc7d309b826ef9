namespace Jiniac.Trainer.Tests;

/// <summary>
/// Synthetic datasets and one trained run (60 steps, checkpoints every 25) shared by the tests that
/// inspect a finished training: it is the expensive part, so it runs once per test collection.
/// </summary>
public sealed class TrainedModelFixture : IAsyncLifetime
{
    public const int Steps = 60;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "jiniac-trainer-tests-" + Guid.NewGuid().ToString("N"));
    public string[] TrainPrefixes { get; private set; } = [];
    public string[] HeldOutPrefixes { get; private set; } = [];
    public string RunDir => Path.Combine(Root, "run");
    public int ExitCode { get; private set; }
    public string Log { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var data = Path.Combine(Root, "data");
        TrainPrefixes =
        [
            SyntheticData.WriteCounting(Path.Combine(data, "counting"), 400, seed: 1),
            SyntheticData.WritePhrases(Path.Combine(data, "phrases"), 300, seed: 2),
        ];
        HeldOutPrefixes =
        [
            SyntheticData.WriteCounting(Path.Combine(data, "counting-heldout"), 40, seed: 11),
            SyntheticData.WritePhrases(Path.Combine(data, "phrases-heldout"), 30, seed: 12),
        ];
        var job = TrainerProcess.WriteJob(RunDir, "JOB.json", Jobs.Train(RunDir, TrainPrefixes, Steps, checkpointInterval: 25));
        (ExitCode, Log) = await TrainerProcess.RunAsync("train", job, RunDir);
    }

    public string Checkpoint(int step) => Path.Combine(RunDir, "checkpoints", $"step_{step:D7}");

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class TrainedModelCollection : ICollectionFixture<TrainedModelFixture>
{
    public const string Name = "trained model";
}
