using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.Megatron;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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

    /// <param name="settings">More TrainLauncher configuration, e.g. another trainer or injected faults.</param>
    /// <param name="services">Replaces services of the host, e.g. its TimeProvider.</param>
    public static async Task<LauncherFixture> StartAsync(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string?>? settings = null, int shardTokens = 0,
        Action<IServiceCollection>? services = null)
    {
        var temp = new TempFolder();
        var fixture = new LauncherFixture(temp, await StartHostAsync(temp.Path, temp.Path, environment, settings, services));
        await fixture.PutShardAsync(shardTokens);
        return fixture;
    }

    public static async Task<ServiceHost> StartHostAsync(string stateDir, string scratch, IReadOnlyDictionary<string, string>? environment, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
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
            ["TrainLauncher:StopTimeout"] = "00:00:30",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            configuration[$"TrainLauncher:Environment:{name}"] = value;
        }

        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[$"TrainLauncher:{name}"] = value;
        }

        return await ServiceHost.StartAsync(stateDir, configuration, b =>
        {
            b.AddTrainLauncherService();
            services?.Invoke(b.Services);
        },
            typeof(TrainingStarted), typeof(TrainingProgressed), typeof(CheckpointSaved), typeof(TrainingCompleted), typeof(TrainingFailed), typeof(AlertRaised), typeof(CheckpointsDeleted), typeof(CheckpointArchived));
    }

    /// <summary>
    /// A real (tiny) Megatron dataset, so the prefix handed to the trainer names an existing .bin/.idx pair; with
    /// <paramref name="tokens"/>, documents of that many tokens in all that a real trainer can draw batches from.
    /// </summary>
    private async Task PutShardAsync(int tokens)
    {
        var local = Path.Combine(_temp.Path, "shard-a");
        using (var writer = new IndexedDatasetWriter(local, IndexedDatasetDType.UInt16))
        {
            writer.AddDocument([5, 6, 7, 0]);
            writer.AddDocument([8, 9, 0]);
            for (var written = 0; written < tokens; written += 16)
            {
                // Counting sequences: learnable, so the real trainer's loss falls and a spike stands out.
                var start = 4 + (written / 16 % 40);
                writer.AddDocument([.. Enumerable.Range(start, 15), 3]);
            }

            writer.Complete();
        }

        await Host.Blobs.PutFileAsync(DataKey + ".bin", local + ".bin", move: false, CancellationToken.None);
        await Host.Blobs.PutFileAsync(DataKey + ".idx", local + ".idx", move: false, CancellationToken.None);
    }

    /// <summary>Production babysitting, but no back-off: restarts in tests need not wait.</summary>
    public static SupervisionSpec Supervision { get; } = new() { RestartBackoffSeconds = 0, RestartBackoffMaxSeconds = 0 };

    public static LaunchTraining Command(int steps, int checkpointInterval = 4, int maxRestarts = 3, int attempt = 1, SupervisionSpec? supervision = null) => new()
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
        Training = new TrainingSpec { SeqLength = 8, MicroBatchSize = 2, LearningRate = 0.003, MinLearningRate = 0.0003, CheckpointInterval = checkpointInterval, MaxRestarts = maxRestarts, Supervision = supervision ?? Supervision },
        // One token short of a whole number of batches: the trainer rounds the step count up.
        TokenBudget = (long)steps * BatchTokens - 1,
        SkipBatches = [new BatchRange { From = 2, To = 3 }],
    };

    public string CheckpointFolder(long step) => Path.Combine(TrainDir, "checkpoints", $"step_{step:D7}");

    public JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone();

    public async Task RestartHostAsync(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        await Host.DisposeAsync();
        Host = await StartHostAsync(_temp.Path, _temp.Path, environment, settings);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _temp.Dispose();
    }
}
