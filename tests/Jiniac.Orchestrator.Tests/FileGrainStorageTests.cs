using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Storage;
using Orleans.Storage;

namespace Jiniac.Orchestrator.Tests;

public sealed class FileGrainStorageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jiniac-grains-").FullName;
    private readonly GrainId _id = GrainId.Create("stage", "run/en");

    private FileGrainStorage Storage => new(_root);

    private string FileOf(string key = "run%2Fen") => Path.Combine(_root, "stage", "stage", key + ".json");

    [Fact]
    public async Task A_stage_state_round_trips_through_one_json_file_per_grain()
    {
        var written = new GrainState<StageState>(Sample());
        await Storage.WriteStateAsync("stage", _id, written);
        Assert.Equal(("1", true), (written.ETag, written.RecordExists));

        // The key's '/' is escaped: one file per grain, no temporary file left behind.
        Assert.Equal([FileOf()], Directory.GetFiles(_root, "*", SearchOption.AllDirectories));

        var read = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, read);
        Assert.Equal(("1", true), (read.ETag, read.RecordExists));
        Assert.Equal(Json(written.State), Json(read.State));
        Assert.True(double.IsNaN(read.State!.Loss)); // NaN (no loss yet) survives
        Assert.Equal([10L, 20L], read.State!.PendingEvaluations);
        Assert.Equal(2.5, read.State!.Evaluations[10][0].Loss);
    }

    [Fact]
    public async Task A_missing_grain_reads_as_a_fresh_state_with_no_etag()
    {
        var read = new GrainState<StageState>(Sample());
        await Storage.ReadStateAsync("stage", _id, read);
        Assert.Equal(((string?)null, false, StageStatus.Pending, 1), (read.ETag, read.RecordExists, read.State!.Status, read.State!.Attempt));
    }

    [Fact]
    public async Task A_stale_writer_gets_InconsistentStateException_and_the_newer_state_stays()
    {
        await Storage.WriteStateAsync("stage", _id, new GrainState<StageState>(Sample()));
        var a = new GrainState<StageState>();
        var b = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, a);
        await Storage.ReadStateAsync("stage", _id, b);

        a.State!.Reason = "a wrote";
        await Storage.WriteStateAsync("stage", _id, a);
        Assert.Equal("2", a.ETag);

        b.State!.Reason = "b wrote";
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("stage", _id, b));
        var fresh = new GrainState<StageState>();
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("stage", _id, fresh)); // no ETag, yet a record exists

        var read = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, read);
        Assert.Equal(("2", "a wrote"), (read.ETag, read.State!.Reason));
    }

    [Fact]
    public async Task A_temporary_file_left_by_a_crash_mid_write_does_not_affect_reads_or_the_next_write()
    {
        await Storage.WriteStateAsync("stage", _id, new GrainState<StageState>(Sample()));
        var torn = Json(new { version = 2, state = Sample() });
        File.WriteAllText(FileOf() + ".tmp~", torn[..(torn.Length / 2)]);

        var read = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, read);
        Assert.Equal(("1", Json(Sample())), (read.ETag, Json(read.State)));

        read.State!.Reason = "after the crash";
        await Storage.WriteStateAsync("stage", _id, read);
        Assert.False(File.Exists(FileOf() + ".tmp~"));
        var again = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, again);
        Assert.Equal(("2", "after the crash"), (again.ETag, again.State!.Reason));
    }

    [Fact]
    public async Task Clearing_deletes_the_file_and_the_grain_starts_over_at_version_1()
    {
        var state = new GrainState<StageState>(Sample());
        await Storage.WriteStateAsync("stage", _id, state);
        await Storage.ClearStateAsync("stage", _id, state);
        Assert.False(File.Exists(FileOf()));
        Assert.Equal(((string?)null, false, (string?)null), (state.ETag, state.RecordExists, state.State!.Reason));

        var read = new GrainState<StageState>();
        await Storage.ReadStateAsync("stage", _id, read);
        Assert.False(read.RecordExists);
        await Storage.WriteStateAsync("stage", _id, read);
        Assert.Equal("1", read.ETag);
    }

    [Fact]
    public async Task A_key_with_dots_and_slashes_stays_inside_the_root()
    {
        var id = GrainId.Create("stage", "../../escape");
        await Storage.WriteStateAsync("stage", id, new GrainState<StageState>(Sample()));
        var file = Assert.Single(Directory.GetFiles(_root, "*", SearchOption.AllDirectories));
        Assert.Equal(_root, Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(file))));
        Assert.False(Directory.Exists(Path.Combine(_root, "..", "escape")));
    }

    private static StageState Sample()
    {
        var state = new StageState { Status = StageStatus.Training, Reason = "sample", Attempt = 2, Step = 7, InitFrom = "/ckpt/x" };
        state.Shards["k1"] = new StageShard { Key = "k1", Source = "stories", Split = SplitNames.Train, Blob = "b/k1", Tokens = 42, Prefix = "p/k1" };
        state.Checkpoints.Add(new CheckpointSummary(10, 100, 2.5, "/ckpt/10"));
        state.Evaluations[10] = [new DomainEvaluation { Domain = "stories", Tokens = 5, TextBytes = 20, Loss = 2.5, Perplexity = 12.18, BitsPerByte = 0.9 }];
        state.PendingEvaluations.Add(20);
        state.PendingEvaluations.Add(10);
        return state;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, OrchestratorJson.Options);

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
