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
