using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Jiniac.Contracts;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Orchestrator.Control;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Tests;

/// <summary>The operator RPCs over a real HTTP/2 channel: replay options, checkpoints, publish, the trainer log.</summary>
public sealed class OperatorApiTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Host.ControlUrl);

    private OrchestratorHost Host => fixture.Host;

    // As the CLI does on a keyless loopback host: the local user's name, recorded with each write.
    private G.ControlService.ControlServiceClient Client => new(_channel.Intercept(m =>
    {
        m.Add(ControlAccessMiddleware.UserHeader, "alice");
        return m;
    }));

    [Fact]
    public async Task A_replay_from_a_checkpoint_over_gRPC_names_the_local_user_and_ListCheckpoints_shows_what_it_discarded()
    {
        const string run = "api-replay";
        await Drive.ToFirstStageTrainingAsync(Host, run);
        foreach (var step in (long[])[4, 8])
        {
            await Host.Publish(new CheckpointSaved { RunId = run, Stage = "en", Attempt = 1, Step = step, Tokens = step * 10, Loss = 2, Folder = $"/ck/{step}" });
        }

        await Drive.StageView(Host, run, "en", v => v.Checkpoints.Count == 2, "two checkpoints");
        await Host.Publish(new TrainingFailed { RunId = run, Stage = "en", Attempt = 1, Reason = "spike", Restarts = 0 });
        await Drive.StageView(Host, run, "en", v => v.Status == "Failed", "failed");

        var refused = await Assert.ThrowsAsync<RpcException>(() => Client.ReplayStageAsync(new ReplayStageRequest { RunId = run, Stage = "en", FromCheckpoint = 5 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        var noStage = await Assert.ThrowsAsync<RpcException>(() => Client.ReplayStageAsync(new ReplayStageRequest { RunId = run, Stage = "fr" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, noStage.StatusCode);

        var reply = await Client.ReplayStageAsync(new ReplayStageRequest { RunId = run, Stage = "en", Reason = "spike at 6", FromCheckpoint = 4, SkipBatches = { new SkipRange { From = 5, To = 7 } } });
        Assert.Equal(2, reply.Attempt);
        var launch = Assert.Single(await Host.Commands.WaitForAsync<LaunchTraining>(c => c.RunId == run && c.Attempt == 2));
        Assert.Equal((4L, 5L, 7L), (launch.ResumeFromStep!.Value, launch.SkipBatches[0].From, launch.SkipBatches[0].To));
        var journal = await Host.Grains.GetGrain<Grains.IJournalGrain>(run).ReadAsync(0, 1000);
        Assert.Contains("\"requestedBy\":\"local:alice\"", journal.Single(e => e.Type == "StageReplayed").Json);

        var listed = Assert.Single((await Client.ListCheckpointsAsync(new ListCheckpointsRequest { RunId = run, Stage = "en" })).Stages);
        Assert.Equal(("en", 2), (listed.Stage, listed.Attempt));
        Assert.Equal([4L], listed.Checkpoints.Select(c => c.Step));
        var discarded = Assert.Single(listed.Discarded);
        Assert.Equal((8L, 2, "spike at 6"), (discarded.Step, discarded.DiscardedByAttempt, discarded.DiscardedReason));
        Assert.Equal(5, Assert.Single(listed.SkipBatches).From);
        Assert.Equal(2, (await Client.ListCheckpointsAsync(new ListCheckpointsRequest { RunId = run })).Stages.Count);
        var missing = await Assert.ThrowsAsync<RpcException>(() => Client.ListCheckpointsAsync(new ListCheckpointsRequest { RunId = run, Stage = "fr" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var publish = await Assert.ThrowsAsync<RpcException>(() => Client.PublishCheckpointAsync(new PublishCheckpointRequest { RunId = run, Stage = "en", Step = 8 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, publish.StatusCode); // discarded: not in the lineage
        var published = await Client.PublishCheckpointAsync(new PublishCheckpointRequest { RunId = run, Stage = "en", Step = 4 });
        Assert.Equal(4, published.Step);
        Assert.Single(await Host.Commands.WaitForAsync<PublishModel>(c => c.RunId == run && c.Step == 4));
    }

    [Fact]
    public async Task The_trainer_log_is_tailed_then_followed_while_the_stage_trains_and_ends_when_it_stops()
    {
        const string run = "api-logs";
        var none = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(new WatchTrainerLogRequest { RunId = run, Stage = "en" }));
        Assert.Equal(StatusCode.NotFound, none.StatusCode); // no such run

        await Drive.ToFirstStageTrainingAsync(Host, run);
        var noLog = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(new WatchTrainerLogRequest { RunId = run, Stage = "en" }));
        Assert.Contains("trainer.log", noLog.Status.Detail);

        var dir = Path.Combine(Host.StateDir, "runs", run, "train", "en");
        Directory.CreateDirectory(dir);
        var log = Path.Combine(dir, "trainer.log");
        await File.WriteAllTextAsync(log, string.Concat(Enumerable.Range(1, 100).Select(i => $"step {i} 学習\n")));

        var tail = await ReadAllAsync(new WatchTrainerLogRequest { RunId = run, Stage = "en", TailLines = 3 });
        Assert.Equal("step 98 学習\nstep 99 学習\nstep 100 学習\n", tail);

        using var cancel = new CancellationTokenSource(Eventually.Timeout);
        using var call = Client.WatchTrainerLog(new WatchTrainerLogRequest { RunId = run, Stage = "en", TailLines = 1, Follow = true }, cancellationToken: cancel.Token);
        var stream = call.ResponseStream;
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal("step 100 学習\n", stream.Current.Text);
        await File.AppendAllTextAsync(log, "step 101 学習\n", cancel.Token);
        var followed = new StringBuilder();
        while (!followed.ToString().Contains("step 101 学習\n", StringComparison.Ordinal) && await stream.MoveNext(cancel.Token))
        {
            followed.Append(stream.Current.Text);
        }

        Assert.Equal("step 101 学習\n", followed.ToString());
        await Host.Publish(new TrainingFailed { RunId = run, Stage = "en", Attempt = 1, Reason = "done here", Restarts = 0 });
        while (await stream.MoveNext(cancel.Token))
        {
            // drains to the end: the stage stopped training, so the server ends the stream
        }
    }

    private async Task<string> ReadAllAsync(WatchTrainerLogRequest request)
    {
        using var call = Client.WatchTrainerLog(request);
        var text = new StringBuilder();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
    }

    public void Dispose() => _channel.Dispose();
}
