using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.Megatron;
using Jiniac.Tests.Infrastructure;

namespace Jiniac.TrainLauncher.Tests;

/// <summary>A temp state folder, a copy of ContractTrainer.sh, a tokenized shard in the blob store, and a launcher host.</summary>
internal sealed class LauncherFixture : IAsyncDisposable
{
    public const string RunId = "run-1";
    public const string Stage = "en-web";
    public const string DataKey = "tokenized/shard-a";
    public const int BatchTokens = 2 * 8;

    private readonly TempFolder _temp;

    private LauncherFixture(TempFolder temp, ServiceHost host)
    {
        _temp = temp;
        Host = host;
    }

    public ServiceHost Host { get; private set; }
    public EventLog Events => Host.Events;
    public string TrainDir => Host.Paths.TrainDir(RunId, Stage);
    public string StateDir => _temp.Path;

    public static async Task<LauncherFixture> StartAsync(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string?>? configuration = null)
    {
        var temp = new TempFolder();
        var fixture = new LauncherFixture(temp, await StartHostAsync(temp.Path, temp.Path, environment, configuration));
        await fixture.PutShardAsync();
        return fixture;
    }

    public static async Task<ServiceHost> StartHostAsync(string stateDir, string scratch, IReadOnlyDictionary<string, string>? environment, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var trainer = Path.Combine(scratch, "ContractTrainer.sh");
        if (!File.Exists(trainer))
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "ContractTrainer.sh"), trainer);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(trainer, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var configuration = new Dictionary<string, string?>
        {
            ["TrainLauncher:Trainer"] = trainer,
            ["TrainLauncher:PollInterval"] = "00:00:00.050",
            ["TrainLauncher:ProgressInterval"] = "00:00:00.200",
            ["TrainLauncher:RestartDelay"] = "00:00:00",
            ["TrainLauncher:StopTimeout"] = "00:00:30",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            configuration[$"TrainLauncher:Environment:{name}"] = value;
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string?>())
        {
            configuration[name] = value;
        }

        return await ServiceHost.StartAsync(stateDir, configuration, b => b.AddTrainLauncherService(),
            typeof(TrainingStarted), typeof(TrainingProgressed), typeof(CheckpointSaved), typeof(TrainingCompleted), typeof(TrainingFailed), typeof(AlertRaised));
    }

    /// <summary>A real (tiny) Megatron dataset, so the prefix handed to the trainer names an existing .bin/.idx pair.</summary>
    private async Task PutShardAsync()
    {
        var local = Path.Combine(_temp.Path, "shard-a");
        using (var writer = new IndexedDatasetWriter(local, IndexedDatasetDType.UInt16))
        {
            writer.AddDocument([5, 6, 7, 0]);
            writer.AddDocument([8, 9, 0]);
            writer.Complete();
        }

        await Host.Blobs.PutFileAsync(DataKey + ".bin", local + ".bin", move: false, CancellationToken.None);
        await Host.Blobs.PutFileAsync(DataKey + ".idx", local + ".idx", move: false, CancellationToken.None);
    }

    public static LaunchTraining Command(int steps, int checkpointInterval = 4, int maxRestarts = 3, int attempt = 1) => new()
    {
        RunId = RunId,
        Stage = Stage,
        StageIndex = 0,
        Attempt = attempt,
        Data = [new DataPrefix { Prefix = DataKey, Weight = 0.7 }],
        TokenizerBlob = "tokenizers/run-1/tokenizer.json",
        VocabSize = 64,
        EodTokenId = 3,
        Model = new ModelSpec { HiddenSize = 8, IntermediateSize = 16, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, MaxPositionEmbeddings = 32 },
        Training = new TrainingSpec { SeqLength = 8, MicroBatchSize = 2, LearningRate = 0.003, MinLearningRate = 0.0003, CheckpointInterval = checkpointInterval, MaxRestarts = maxRestarts },
        // One token short of a whole number of batches: the trainer rounds the step count up.
        TokenBudget = (long)steps * BatchTokens - 1,
        SkipBatches = [new BatchRange { From = 2, To = 3 }],
    };

    public string CheckpointFolder(long step) => Path.Combine(TrainDir, "checkpoints", $"step_{step:D7}");

    public JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone();

    public async Task RestartHostAsync(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string?>? configuration = null)
    {
        await Host.DisposeAsync();
        Host = await StartHostAsync(_temp.Path, _temp.Path, environment, configuration);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _temp.Dispose();
    }
}
