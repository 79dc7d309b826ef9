using Grpc.Core;
using Grpc.Net.Client;
using Jiniac.Contracts;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Orchestrator.Grains;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Tests;

/// <summary>The gRPC control API of a live host, through a real HTTP/2 channel.</summary>
public sealed class ControlApiTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Host.ControlUrl);

    private G.ControlService.ControlServiceClient Client => new(_channel);

    private OrchestratorHost Host => fixture.Host;

    [Fact]
    public async Task GetRun_of_an_unknown_run_is_NotFound_and_of_an_unsafe_id_InvalidArgument()
    {
        var missing = await Assert.ThrowsAsync<RpcException>(() => Client.GetRunAsync(new GetRunRequest { RunId = "no-such-run" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no-such-run", missing.Status.Detail);

        var unsafeId = await Assert.ThrowsAsync<RpcException>(() => Client.GetRunAsync(new GetRunRequest { RunId = "../etc" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unsafeId.StatusCode);
    }

    [Fact]
    public async Task ListRuns_and_GetRun_show_submitted_runs()
    {
        foreach (var run in new[] { "listed-a", "listed-b" })
        {
            Assert.Null((await Host.Run(run).SubmitAsync(Pipelines.TwoStages(run))).Error);
        }

        var list = await Client.ListRunsAsync(new ListRunsRequest());
        var summaries = list.Runs.Where(r => r.RunId.StartsWith("listed-", StringComparison.Ordinal)).OrderBy(r => r.RunId).ToList();
        Assert.Equal(["listed-a", "listed-b"], summaries.Select(r => r.RunId));
        Assert.All(summaries, r => Assert.Equal((r.RunId, "Running", "en"), (r.Name, r.Status, r.CurrentStage)));

        var view = await Client.GetRunAsync(new GetRunRequest { RunId = "listed-a" });
        Assert.Equal(("listed-a", "Running"), (view.RunId, view.Status));
        Assert.Equal(["en", "ja"], view.Stages.Select(s => s.Name));
        Assert.Equal(40_000, view.Stages[0].TokenBudget);
    }

    [Fact]
    public async Task WatchEvents_from_a_cursor_returns_dense_sequences_starting_there_and_follows_new_entries()
    {
        const string run = "watched";
        var shards = new RunShards(run);
        Assert.Null((await Host.Run(run).SubmitAsync(Pipelines.TwoStages(run))).Error);
        await Host.Publish(shards.SourceIngested("en", "stories", shards.StoriesTrain1, shards.StoriesTrain2, shards.StoriesEval));
        await Host.Publish(shards.SourceIngested("en", "wiki", shards.WikiTrain, shards.WikiEval));
        var journal = Host.Grains.GetGrain<IJournalGrain>(run);
        var entries = await Eventually.Until(() => journal.ReadAsync(0, 1000), e => e.Count(x => x.Type == "SourceIngested") == 2, "the journal has both sources");
        var count = entries.Count;

        var all = await ReadAsync(new WatchEventsRequest { RunId = run, From = 0 });
        Assert.Equal(Enumerable.Range(0, all.Count).Select(i => (long)i), all.Select(e => e.Sequence));
        Assert.True(all.Count >= count);
        Assert.Contains(all, e => e.Type == "RunSubmitted");
        Assert.Equal(2, all.Count(e => e.Type == "SourceIngested" && e.Stage == "en"));
        Assert.All(all, e => Assert.Equal(run, e.RunId));

        var tail = await ReadAsync(new WatchEventsRequest { RunId = run, From = 3 });
        Assert.Equal(Enumerable.Range(3, tail.Count).Select(i => (long)i), tail.Select(e => e.Sequence));
        Assert.Equal(all.Skip(3).Take(tail.Count).Select(e => (e.Type, e.Json)), tail.Select(e => (e.Type, e.Json)));

        // Following from the end: the next appended entry arrives with the next sequence number.
        var next = await journal.CountAsync();
        using var cts = new CancellationTokenSource(Eventually.Timeout);
        using var call = Client.WatchEvents(new WatchEventsRequest { RunId = run, From = next, Follow = true }, cancellationToken: cts.Token);
        await Host.Publish(new AlertRaised { RunId = run, Stage = "en", Severity = "warning", Kind = "test", Message = "watch me" });
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal((next, "AlertRaised"), (call.ResponseStream.Current.Sequence, call.ResponseStream.Current.Type));
        Assert.Contains("watch me", call.ResponseStream.Current.Json);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task SubmitRun_with_a_broken_pipeline_file_is_InvalidArgument_naming_file_and_line()
    {
        var path = Path.Combine(fixture.Dir, "broken.yaml");
        await File.WriteAllTextAsync(path, "name: broken\ndescription: fine\nmodel: hidden_size: 64\n");
        var broken = await Assert.ThrowsAsync<RpcException>(() => Client.SubmitRunAsync(new SubmitRunRequest { PipelinePath = path }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, broken.StatusCode);
        Assert.Contains($"{path}:3:", broken.Status.Detail);

        var missingPath = Path.Combine(fixture.Dir, "missing.yaml");
        var missing = await Assert.ThrowsAsync<RpcException>(() => Client.SubmitRunAsync(new SubmitRunRequest { PipelinePath = missingPath }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, missing.StatusCode);
        Assert.Contains(missingPath, missing.Status.Detail);

        Assert.DoesNotContain((await Client.ListRunsAsync(new ListRunsRequest())).Runs, r => r.RunId == "broken");
    }

    private async Task<List<JournalEntry>> ReadAsync(WatchEventsRequest request)
    {
        using var call = Client.WatchEvents(request);
        var entries = new List<JournalEntry>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            entries.Add(call.ResponseStream.Current);
        }

        return entries;
    }

    public void Dispose() => _channel.Dispose();
}
