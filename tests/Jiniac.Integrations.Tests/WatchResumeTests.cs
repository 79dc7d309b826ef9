using Grpc.Core;
using Grpc.Net.Client;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Tests;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Integrations.Tests;

/// <summary>WatchEvents with a types filter: a watcher that disconnects mid-stream and resumes from its cursor misses and repeats nothing.</summary>
public sealed class WatchResumeTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-watch-").FullName;
    private OrchestratorHost _host = null!;
    private GrpcChannel _channel = null!;

    private G.ControlService.ControlServiceClient Client => new(_channel);

    public async Task InitializeAsync()
    {
        _host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"));
        _channel = GrpcChannel.ForAddress(_host.ControlUrl);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_filtered_watch_resumed_after_a_disconnect_misses_and_repeats_nothing()
    {
        const string run = "resumed";
        await Events.SubmitAsync(_host, run);
        for (var step = 1; step <= 4; step++)
        {
            await _host.Publish(Events.Progress(run, step * 10 - 5));
            await _host.Publish(Events.Checkpoint(run, step * 10));
        }

        var journal = _host.Grains.GetGrain<IJournalGrain>(run);
        await Eventually.Until(() => journal.ReadAsync(0, 1000), e => e.Count(x => x.Type == "CheckpointSaved") == 4, "four checkpoints are journaled");

        // First connection: follow, read two checkpoints, then drop the connection mid-stream.
        var seen = new List<JournalEntry>();
        using (var cts = new CancellationTokenSource(Eventually.Timeout))
        {
            using var call = Client.WatchEvents(new WatchEventsRequest { RunId = run, From = 0, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: cts.Token);
            while (seen.Count < 2 && await call.ResponseStream.MoveNext(cts.Token))
            {
                seen.Add(call.ResponseStream.Current);
            }

            await cts.CancelAsync();
        }

        // While nobody watches, more happens.
        for (var step = 5; step <= 6; step++)
        {
            await _host.Publish(Events.Progress(run, step * 10 - 5));
            await _host.Publish(Events.Checkpoint(run, step * 10));
        }

        // Second connection: from the last cursor seen + 1.
        using (var cts = new CancellationTokenSource(Eventually.Timeout))
        {
            using var call = Client.WatchEvents(new WatchEventsRequest { RunId = run, From = seen[^1].Sequence + 1, Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: cts.Token);
            while (seen.Count < 6 && await call.ResponseStream.MoveNext(cts.Token))
            {
                seen.Add(call.ResponseStream.Current);
            }

            await cts.CancelAsync();
        }

        var expected = (await journal.ReadAsync(0, 1000)).Where(e => e.Type == "CheckpointSaved").ToList();
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected.Select(e => (e.Sequence, e.Json)), seen.Select(e => (e.Sequence, e.Json)));
        Assert.All(seen, e => Assert.Equal("CheckpointSaved", e.Type));
        Assert.Equal([10L, 20L, 30L, 40L, 50L, 60L], seen.Select(e => System.Text.Json.JsonDocument.Parse(e.Json).RootElement.GetProperty("step").GetInt64()));
    }

    [Fact]
    public async Task A_watch_of_every_run_resumed_with_its_per_run_cursors_misses_and_repeats_nothing()
    {
        string[] runs = ["all-a", "all-b"];
        foreach (var run in runs)
        {
            await Events.SubmitAsync(_host, run);
            await _host.Publish(Events.Checkpoint(run, 10));
            await _host.Publish(Events.Progress(run, 15));
            await _host.Publish(Events.Checkpoint(run, 20));
        }

        foreach (var run in runs)
        {
            var j = _host.Grains.GetGrain<IJournalGrain>(run);
            await Eventually.Until(() => j.ReadAsync(0, 1000), e => e.Count(x => x.Type == "CheckpointSaved") == 2, $"{run}: two checkpoints are journaled");
        }

        // First connection: every run, checkpoints only; drop it after three entries.
        var seen = new List<JournalEntry>();
        using (var cts = new CancellationTokenSource(Eventually.Timeout))
        {
            using var call = Client.WatchEvents(new WatchEventsRequest { Follow = true, Types_ = { "CheckpointSaved" } }, cancellationToken: cts.Token);
            while (seen.Count < 3 && await call.ResponseStream.MoveNext(cts.Token))
            {
                seen.Add(call.ResponseStream.Current);
            }

            await cts.CancelAsync();
        }

        // While nobody watches: both runs go on, and a third run is made.
        foreach (var run in runs)
        {
            await _host.Publish(Events.Checkpoint(run, 30));
        }

        await Events.SubmitAsync(_host, "all-c");
        await _host.Publish(Events.Checkpoint("all-c", 10));
        runs = [.. runs, "all-c"];
        var expected = new Dictionary<string, List<(long, string)>>();
        foreach (var run in runs)
        {
            var j = _host.Grains.GetGrain<IJournalGrain>(run);
            var want = run == "all-c" ? 1 : 3;
            var entries = await Eventually.Until(() => j.ReadAsync(0, 1000), e => e.Count(x => x.Type == "CheckpointSaved") == want, $"{run}: {want} checkpoints are journaled");
            expected[run] = [.. entries.Where(e => e.Type == "CheckpointSaved").Select(e => (e.Sequence, e.Json))];
        }

        // Second connection: the composite cursor, each run's last seen sequence + 1 (a run not named starts at 0).
        using (var cts = new CancellationTokenSource(Eventually.Timeout))
        {
            var resume = new WatchEventsRequest { Follow = true, Types_ = { "CheckpointSaved" } };
            foreach (var last in seen.GroupBy(e => e.RunId))
            {
                resume.Cursors[last.Key] = last.Max(e => e.Sequence) + 1;
            }

            using var call = Client.WatchEvents(resume, cancellationToken: cts.Token);
            while (seen.Count < 7 && await call.ResponseStream.MoveNext(cts.Token))
            {
                seen.Add(call.ResponseStream.Current);
            }

            await cts.CancelAsync();
        }

        // Each run: exactly its journal's checkpoints, in its order, once.
        foreach (var run in runs)
        {
            Assert.Equal(expected[run], seen.Where(e => e.RunId == run).Select(e => (e.Sequence, e.Json)));
        }

        var bad = Client.WatchEvents(new WatchEventsRequest { From = 3 });
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => bad.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
    }

    [Fact]
    public async Task An_unknown_type_in_the_filter_is_refused()
    {
        const string run = "filter-typo";
        await Events.SubmitAsync(_host, run);
        using var call = Client.WatchEvents(new WatchEventsRequest { RunId = run, Types_ = { "CheckpointSaved", "CheckpointSavd" } });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("'CheckpointSavd' is not an event type", e.Status.Detail);
    }
}
