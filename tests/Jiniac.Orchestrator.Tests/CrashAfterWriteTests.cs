using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A silo can die right after a grain's state is durable and before anything else that call does. Here a grain storage
/// fails the call just after a chosen write, as a dying silo would: the state is written, and nothing after the write
/// ran. The grain's reminder must exist anyway and carry on. A chaos run once stalled for eight minutes on exactly this
/// (a stage's reminder was registered after its first Preparing write); the run grain had the same order.
/// </summary>
public sealed class CrashAfterWriteTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jiniac-crash-after-write-" + Guid.NewGuid().ToString("n"));
    private OrchestratorHost _host = null!;
    private readonly CrashAfterWrite _storage = new();

    public async Task InitializeAsync() => _host = await OrchestratorHost.StartAsync(_dir,
        [new("Orchestrator:ReissueAfter", "00:00:01"), new("Orchestrator:ReissueCheckPeriod", "00:00:01")],
        builder => builder.Services.AddKeyedSingleton<IGrainStorage>(OrchestratorStorage.Name, (sp, _) =>
            _storage.Over(new FileGrainStorage(sp.GetRequiredService<StatePaths>().Grains))));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_stage_whose_silo_dies_just_after_its_first_Preparing_write_is_still_ingested_by_its_reminder()
    {
        const string run = "crash-after-write";
        _storage.CrashAfter = (state, grain) => state is StageState { Status: StageStatus.Preparing } && grain.EndsWith("/ja", StringComparison.Ordinal);

        // Drives "en" to training; "ja" is prepared meanwhile, and that is where the storage fails (once).
        await Drive.ToFirstStageTrainingAsync(_host, run);

        Assert.Equal(1, _storage.Crashes);
        Assert.Single(_host.Commands.Of<IngestSource>(c => c.RunId == run && c.Stage == "ja"));
        var ja = await _host.Stage(run, "ja").GetViewAsync();
        Assert.Equal("Preparing", ja.Status);
    }

    [Fact]
    public async Task A_run_whose_silo_dies_just_after_its_Running_write_is_still_started_by_its_reminder()
    {
        const string run = "crash-after-submit";
        _storage.CrashAfter = (state, _) => state is RunState { Status: RunStatus.Running };

        // The submit's caller sees the failure; the run is Running in storage, and nothing else of the submit ran.
        var failed = await Assert.ThrowsAsync<Orleans.Runtime.OrleansException>(() => _host.Run(run).SubmitAsync(Pipelines.TwoStages(run)));
        Assert.IsType<TimeoutException>(failed.InnerException);

        // The reconcile reminder prepares the first stage.
        await _host.Commands.WaitForAsync<IngestSource>(c => c.RunId == run && c.Stage == "en");
        Assert.Equal(1, _storage.Crashes);
    }

    /// <summary>Writes through, then throws once: after the first write that <see cref="CrashAfter"/> picks (state, grain id).</summary>
    private sealed class CrashAfterWrite : IGrainStorage
    {
        private IGrainStorage _inner = null!;
        private int _crashes;

        public CrashAfterWrite Over(IGrainStorage inner)
        {
            _inner = inner;
            return this;
        }

        public Func<object?, string, bool>? CrashAfter { get; set; }

        public int Crashes => Volatile.Read(ref _crashes);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => _inner.ReadStateAsync(stateName, grainId, grainState);

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await _inner.WriteStateAsync(stateName, grainId, grainState);
            if (CrashAfter is { } crash && crash(grainState.State, grainId.ToString()) && Interlocked.CompareExchange(ref _crashes, 1, 0) == 0)
            {
                throw new TimeoutException("the silo died after writing this state (simulated)");
            }
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => _inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
