using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A silo can die right after a grain's state is durable and before anything else that call does. Here a grain storage
/// fails the call just after it has written the second stage's first Preparing state, as a dying silo would: the state
/// says Preparing, and nothing after the write ran (no ingest sent). The stage's re-issue reminder must exist anyway,
/// and bring the ingest out. A chaos run once stalled for eight minutes on exactly this: the reminder was registered
/// after the write.
/// </summary>
public sealed class CrashAfterWriteTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jiniac-crash-after-write-" + Guid.NewGuid().ToString("n"));
    private OrchestratorHost _host = null!;
    private CrashAfterWrite _storage = null!;

    public async Task InitializeAsync() => _host = await OrchestratorHost.StartAsync(_dir,
        [new("Orchestrator:ReissueAfter", "00:00:01"), new("Orchestrator:ReissueCheckPeriod", "00:00:01")],
        builder => builder.Services.AddKeyedSingleton<IGrainStorage>(OrchestratorStorage.Name, (sp, _) =>
            _storage = new CrashAfterWrite(new FileGrainStorage(sp.GetRequiredService<StatePaths>().Grains))));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_stage_whose_silo_dies_just_after_its_first_Preparing_write_is_still_ingested_by_its_reminder()
    {
        const string run = "crash-after-write";

        // Drives "en" to training; "ja" is prepared meanwhile, and that is where the storage fails (once).
        await Drive.ToFirstStageTrainingAsync(_host, run);

        Assert.Equal(1, _storage.Crashes);
        Assert.Single(_host.Commands.Of<IngestSource>(c => c.RunId == run && c.Stage == "ja"));
        var ja = await _host.Stage(run, "ja").GetViewAsync();
        Assert.Equal("Preparing", ja.Status);
    }

    /// <summary>Writes through, then throws once: after the first write of stage "ja" with status Preparing.</summary>
    private sealed class CrashAfterWrite(IGrainStorage inner) : IGrainStorage
    {
        private int _crashes;

        public int Crashes => Volatile.Read(ref _crashes);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await inner.WriteStateAsync(stateName, grainId, grainState);
            if (grainState.State is StageState { Status: StageStatus.Preparing } && grainId.ToString().EndsWith("/ja", StringComparison.Ordinal)
                && Interlocked.CompareExchange(ref _crashes, 1, 0) == 0)
            {
                throw new TimeoutException("the silo died after writing this state (simulated)");
            }
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
