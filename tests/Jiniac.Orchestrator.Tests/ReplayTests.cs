using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;

namespace Jiniac.Orchestrator.Tests;

/// <summary>Replay semantics: nothing valid is redone, a chosen checkpoint cuts the lineage (not the disk), skips reach the launcher, and every replay is journaled with who asked and why.</summary>
public sealed class ReplayTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    [Fact]
    public async Task Replaying_a_failed_stage_reuses_its_shards_and_checkpoints_and_journals_who_asked_and_why()
    {
        const string run = "replay-reuse";
        await FailedWithCheckpointsAsync(run, 4, 8);
        var ingests = Host.Commands.Of<IngestSource>(c => c.RunId == run && c.Stage == "en").Count;
        var tokenizes = Host.Commands.Of<TokenizeRequest>(c => c.RunId == run && c.Stage == "en").Count;

        var replay = await Host.Run(run).ReplayStageAsync("en", new ReplayRequest { Reason = "node fixed", RequestedBy = "ci-operator" });

        Assert.Equal((2, (string?)null), (replay.Attempt, replay.Error));
        var launch = Assert.Single(await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run && c.Attempt == 2));
        Assert.Null(launch.ResumeFromStep); // the launcher resumes from its latest complete checkpoint: step 8
        Assert.Empty(launch.SkipBatches);
        var view = await Host.Stage(run, "en").GetViewAsync();
        Assert.Equal([4L, 8L], view.Checkpoints.Select(c => c.Step));
        Assert.Empty(view.Discarded);
        Assert.Equal(ingests, Host.Commands.Of<IngestSource>(c => c.RunId == run && c.Stage == "en").Count);
        Assert.Equal(tokenizes, Host.Commands.Of<TokenizeRequest>(c => c.RunId == run && c.Stage == "en").Count);

        var entry = await ReplayedEntryAsync(run, attempt: 2);
        Assert.Equal(("ci-operator", "node fixed"), (entry.GetProperty("requestedBy").GetString(), entry.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("fromCheckpoint").ValueKind);
        Assert.Contains("replayed by ci-operator: node fixed", (await JournalAsync(run)).Last(e => e.Type == "RunStatusChanged").Json);
    }

    [Fact]
    public async Task From_a_checkpoint_the_later_ones_leave_the_lineage_not_the_disk_and_skipped_batches_reach_every_later_launch()
    {
        const string run = "replay-from";
        await FailedWithCheckpointsAsync(run, 4, 8, 12);

        // Refused, naming what would work, without counting as an attempt.
        var missing = await Host.Run(run).ReplayStageAsync("en", new ReplayRequest { Reason = "x", RequestedBy = "ops", FromCheckpoint = 6 });
        Assert.Contains("step 6 is not a checkpoint of the stage's lineage; checkpoints to replay from: 4, 8, 12", missing.Error);
        var empty = await Host.Run(run).ReplayStageAsync("en", new ReplayRequest { Reason = "x", RequestedBy = "ops", FromCheckpoint = 4, SkipBatches = [new BatchRange { From = 5, To = 5 }] });
        Assert.Contains("skip range 5:5", empty.Error);
        Assert.Equal(1, (await Host.Stage(run, "en").GetViewAsync()).Attempt);

        var replay = await Host.Run(run).ReplayStageAsync("en", new ReplayRequest
        {
            Reason = "loss spike at 6",
            RequestedBy = "ops",
            FromCheckpoint = 4,
            SkipBatches = [new BatchRange { From = 5, To = 7 }],
        });
        Assert.Null(replay.Error);

        var launch = Assert.Single(await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run && c.Attempt == 2));
        Assert.Equal(4, launch.ResumeFromStep);
        Assert.Equal((5L, 7L), (Assert.Single(launch.SkipBatches).From, launch.SkipBatches[0].To));
        var view = await Host.Stage(run, "en").GetViewAsync();
        Assert.Equal([4L], view.Checkpoints.Select(c => c.Step));
        Assert.Equal((4L, 4L * 100), (view.Step, view.TokensTrained));
        Assert.Equal([8L, 12L], view.Discarded.Select(d => d.Step));
        Assert.All(view.Discarded, d => Assert.Equal((2, "loss spike at 6"), (d.Attempt, d.Reason)));
        Assert.Empty(Host.Commands.Of<PruneCheckpoints>(c => c.RunId == run)); // out of the lineage, still on disk

        var entry = await ReplayedEntryAsync(run, attempt: 2);
        Assert.Equal(4, entry.GetProperty("fromCheckpoint").GetInt64());
        Assert.Equal([8L, 12L], entry.GetProperty("discarded").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(5, entry.GetProperty("skipBatches")[0].GetProperty("from").GetInt64());

        // A late report of a discarded checkpoint from attempt 1 is ignored; attempt 2's step 8 is the lineage's.
        var stage = Host.Stage(run, "en");
        await stage.OnTrainingStartedAsync(new TrainingStarted { RunId = run, Stage = "en", Attempt = 2, JobId = "j2", Backend = "local", TotalSteps = 20, Restart = 0 });
        await stage.OnCheckpointSavedAsync(Saved(run, 12, attempt: 1));
        await stage.OnCheckpointSavedAsync(Saved(run, 8, attempt: 2));
        Assert.Equal([4L, 8L], (await stage.GetViewAsync()).Checkpoints.Select(c => c.Step));

        // The skipped range stays skipped by the next attempt, which resumes from the latest again.
        await Host.Publish(new TrainingFailed { RunId = run, Stage = "en", Attempt = 2, Reason = "oom", Restarts = 0 });
        await Drive.StageView(Host, run, "en", v => v.Status == "Failed", "attempt 2 failed");
        Assert.Null((await Host.Run(run).ReplayStageAsync("en", ReplayRequest.Because("more memory"))).Error);
        var third = Assert.Single(await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run && c.Attempt == 3));
        Assert.Null(third.ResumeFromStep);
        Assert.Equal(5, Assert.Single(third.SkipBatches).From);
    }

    [Fact]
    public async Task A_failed_shard_is_replayed_alone_and_the_stage_prepares_again()
    {
        const string run = "replay-shard";
        var s = await Drive.ToFirstStageTrainingAsync(Host, run);
        await Host.Publish(s.SourceIngested("ja", "pages", s.PagesTrain, s.PagesEval));
        await Host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == run && c.Stage == "ja", 2);
        await Host.Publish(s.Tokenized("ja", s.PagesEval));
        // Shard events are consumed in batches (ShardEventBatchConsumer), failures one by one: without this wait the
        // failure can overtake the eval shard's success and the stage fails before that shard counts as tokenized.
        await Drive.StageView(Host, run, "ja", v => v.ShardsTokenized == 1, "the eval shard tokenized");
        await Host.Publish(new ShardTokenizeFailed { RunId = run, Stage = "ja", ShardKey = s.PagesTrain.ShardKey, Reason = "disk full" });
        await Drive.StageView(Host, run, "ja", v => v.Status == "Failed", "ja failed");

        Assert.Contains("at least 8 characters", (await Host.Run(run).ReplayShardAsync("ja", "abc", ReplayRequest.Because("x"))).Error);
        Assert.Contains("is tokenized already", (await Host.Run(run).ReplayShardAsync("ja", s.PagesEval.ShardKey[..12], ReplayRequest.Because("x"))).Error);
        var before = Host.Commands.Of<TokenizeRequest>(c => c.RunId == run && c.Stage == "ja").Count;

        var replay = await Host.Run(run).ReplayShardAsync("ja", s.PagesTrain.ShardKey[..12], new ReplayRequest { Reason = "disk cleaned", RequestedBy = "local:alice" });

        Assert.Equal((2, "Preparing", (string?)null), (replay.Attempt, replay.Status, replay.Error));
        var resent = (await Host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == run && c.Stage == "ja", before + 1)).Skip(before).ToList();
        Assert.Equal(s.PagesTrain.ShardKey, Assert.Single(resent).ShardKey);
        var entry = (await JournalAsync(run)).Single(e => e.Type == "ShardReplayed");
        Assert.Contains("\"requestedBy\":\"local:alice\"", entry.Json);
        Assert.Contains("disk full", entry.Json);

        await Host.Publish(s.Tokenized("ja", s.PagesTrain));
        await Drive.StageView(Host, run, "ja", v => v.Status == "Ready", "ja ready after the shard replay");
    }

    [Fact]
    public async Task An_operator_publishes_a_chosen_checkpoint_and_an_unknown_one_is_refused()
    {
        const string run = "publish-chosen";
        await Drive.ToFirstStageTrainingAsync(Host, run);
        await Host.Publish(Saved(run, 4));
        await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 1, "one checkpoint");

        Assert.Contains("no final checkpoint yet; checkpoints to publish: 4", (await Host.Run(run).PublishAsync("en", null, "ops")).Error);
        Assert.Contains("step 6 is not a checkpoint", (await Host.Run(run).PublishAsync("en", 6, "ops")).Error);
        Assert.Equal("NotFound", (await Host.Run(run).PublishAsync("fr", 4, "ops")).Status);

        Assert.Null((await Host.Run(run).PublishAsync("en", 4, "ops")).Error);
        var publish = Assert.Single(await Host.Commands.WaitForAsync<PublishModel>(c => c.RunId == run));
        Assert.Equal(("en", 4L), (publish.Stage, publish.Step));
        Assert.Contains("\"requestedBy\":\"ops\"", (await JournalAsync(run)).Single(e => e.Type == "PublishRequested").Json);
        Assert.Equal("Training", (await Host.Stage(run, "en").GetViewAsync()).Status);
    }

    private async Task FailedWithCheckpointsAsync(string run, params long[] steps)
    {
        await Drive.ToFirstStageTrainingAsync(Host, run);
        foreach (var step in steps)
        {
            await Host.Publish(Saved(run, step));
        }

        await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == steps.Length, $"{steps.Length} checkpoints");
        await Host.Publish(new TrainingFailed { RunId = run, Stage = "en", Attempt = 1, Reason = "node lost", Restarts = 3 });
        await Drive.RunView(Host, run, v => v.Status == "Failed" && v.Stages[0].Status == "Failed", "failed");
    }

    private async Task<JsonElement> ReplayedEntryAsync(string run, int attempt)
    {
        var entries = await Eventually.Until(() => JournalAsync(run), e => e.Any(x => x.Type == "StageReplayed"), "the replay is journaled");
        var json = entries.Where(e => e.Type == "StageReplayed").Select(e => JsonDocument.Parse(e.Json).RootElement).Single(e => e.GetProperty("attempt").GetInt32() == attempt);
        return json;
    }

    private Task<IReadOnlyList<JournalEntryView>> JournalAsync(string run) => Host.Grains.GetGrain<IJournalGrain>(run).ReadAsync(0, 10_000);

    private static CheckpointSaved Saved(string run, long step, int attempt = 1) => new()
    {
        RunId = run, Stage = "en", Attempt = attempt, Step = step, Tokens = step * 100, Loss = 3.0, Folder = $"/ckpt/{run}/step_{step:D7}",
    };
}
