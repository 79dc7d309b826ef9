using System.Collections.Concurrent;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Ingest.Tests;

/// <summary>The service as it runs: a real host, MassTransit's in-memory bus, the folder blob store.</summary>
public sealed class IngestSourceConsumerTests : IAsyncLifetime
{
    private readonly IngestFixture _fx = new();
    private IHost _host = null!;
    private readonly EventLog _events = new();

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration["Jiniac:StateDir"] = Path.Combine(_fx.Root, "state");
        builder.AddJiniacDefaults();
        builder.AddIngestService();
        builder.Services.AddSingleton(_events);
        builder.Services.BusRegistry().AddEndpoint("ingest-tests-observer", 1, typeof(EventObserver));
        builder.AddJiniacBus();
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _fx.Dispose();
    }

    [Fact]
    public async Task IngestSource_publishes_each_shard_the_quarantine_and_the_summary()
    {
        var lines = string.Concat(Enumerable.Range(0, 100).Select(i => JsonSerializer.Serialize(new { text = $"document {i} of the end to end test" }) + "\n"));
        var path = _fx.Write("e2e.jsonl", lines + "{\"text\": broken}\n");
        var command = new IngestSource
        {
            RunId = "run-1",
            Stage = "stage-a",
            Attempt = 1,
            // These templated lines differ by a number only: near duplicates by design, so near dedup is off here.
            Source = new SourceSpec { Name = "e2e", Paths = [path], EvalFraction = 0.1, ShardBytes = 1500, Dedup = new DedupSpec { Near = false } },
            OutputPrefix = "runs/run-1/stage-a/ingest/e2e",
        };

        await _host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

        var done = await _events.WaitForAsync<SourceIngested>(e => e.RunId == "run-1");
        var shards = _events.All<ShardIngested>().Where(e => e.RunId == "run-1").Select(e => e.Shard).ToList();
        Assert.Equal(done.Shards, shards);
        Assert.True(shards.Count > 3);
        Assert.Contains(shards, s => s.Split == SplitNames.Eval);
        Assert.Equal(100, done.RecordsOut);
        Assert.Equal(101, done.RecordsIn);
        Assert.Equal(1, done.Quarantined);
        Assert.All(_events.All<ShardIngested>().Where(e => e.RunId == "run-1"), e => Assert.Equal(("e2e", 1, "stage-a"), (e.Source, e.Attempt, e.Stage)));

        var quarantined = Assert.Single(_events.All<RecordsQuarantined>());
        Assert.Equal("runs/run-1/stage-a/ingest/e2e/quarantine.jsonl", quarantined.QuarantineBlob);
        Assert.Equal(new Dictionary<string, long> { ["invalid_json"] = 1 }, quarantined.Reasons);

        var blobs = _host.Services.GetRequiredService<IBlobStore>();
        foreach (var shard in shards)
        {
            Assert.True(await blobs.ExistsAsync(shard.Blob, CancellationToken.None));
        }

        Assert.True(await blobs.ExistsAsync(done.ReportBlob, CancellationToken.None));
        Assert.Empty(_events.All<IngestFailed>());

        // The same command again: the same shard keys, in the same order.
        await _host.Services.GetRequiredService<ICommandSender>().SendAsync(command with { RunId = "run-2" }, CancellationToken.None);
        var again = await _events.WaitForAsync<SourceIngested>(e => e.RunId == "run-2");
        Assert.Equal(done.Shards, again.Shards);
    }

    [Fact]
    public async Task An_unreadable_source_publishes_IngestFailed()
    {
        var command = new IngestSource
        {
            RunId = "run-x",
            Stage = "s",
            Attempt = 3,
            Source = new SourceSpec { Name = "missing", Paths = [Path.Combine(_fx.Input, "does-not-exist.jsonl")] },
            OutputPrefix = "runs/run-x/s/ingest/missing",
        };

        await _host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

        var failed = await _events.WaitForAsync<IngestFailed>(e => e.RunId == "run-x");
        Assert.Equal(3, failed.Attempt);
        Assert.Equal("missing", failed.Source);
        Assert.Contains("does not exist", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(_events.All<SourceIngested>(), e => e.RunId == "run-x");
    }

    [Fact]
    public async Task A_later_source_of_the_stage_is_deduplicated_against_the_indexes_the_command_names()
    {
        var text = JsonSerializer.Serialize(new { text = "The captain watched the white whale from the deck of the ship at dawn." }) + "\n";
        var first = _fx.Write("first.jsonl", text);
        var second = _fx.Write("second.jsonl", text + JsonSerializer.Serialize(new { text = "A different document entirely, about the quiet harbour." }) + "\n");
        var sender = _host.Services.GetRequiredService<ICommandSender>();
        IngestSource Command(string name, string path, IReadOnlyList<string> priors) => new()
        {
            RunId = "run-s",
            Stage = "s",
            Attempt = 1,
            Source = new SourceSpec { Name = name, Paths = [path], EvalFraction = 0 },
            OutputPrefix = $"runs/run-s/s/ingest/{name}",
            PriorDedupIndexes = priors,
        };

        await sender.SendAsync(Command("a", first, []), CancellationToken.None);
        await _events.WaitForAsync<SourceIngested>(e => e.RunId == "run-s" && e.Source == "a");
        await sender.SendAsync(Command("b", second, ["runs/run-s/s/ingest/a/dedup.bin"]), CancellationToken.None);
        var b = await _events.WaitForAsync<SourceIngested>(e => e.RunId == "run-s" && e.Source == "b");

        Assert.Equal((2L, 1L, 1L), (b.RecordsIn, b.RecordsOut, b.Duplicates));
    }

    [Fact]
    public async Task A_blob_source_is_read_from_the_platform_store_and_near_duplicates_are_counted_apart_from_exact_ones()
    {
        var words = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"word{i * 37 % 101}"));
        string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";
        var blobs = _host.Services.GetRequiredService<IBlobStore>();
        // One exact and one near duplicate (the last word differs) of the first document.
        var content = Line(words) + Line(words) + Line(words[..words.LastIndexOf(' ')] + " different") + Line("Another document, about the quiet harbour at dawn.");
        await blobs.PutAsync("raw/consumer/part-0.jsonl", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)), CancellationToken.None);

        await _host.Services.GetRequiredService<ICommandSender>().SendAsync(new IngestSource
        {
            RunId = "run-n",
            Stage = "s",
            Attempt = 1,
            Source = new SourceSpec { Name = "near", Paths = ["blob://raw/consumer/"], EvalFraction = 0, Cleaning = new CleaningSpec { Repetition = false } },
            OutputPrefix = "runs/run-n/s/ingest/near",
        }, CancellationToken.None);

        var done = await _events.WaitForAsync<SourceIngested>(e => e.RunId == "run-n");
        Assert.Equal((4L, 2L, 1L, 1L), (done.RecordsIn, done.RecordsOut, done.Duplicates, done.NearDuplicates));
    }

    /// <summary>Every event the test cares about, in arrival order, with waiters.</summary>
    public sealed class EventLog
    {
        private readonly ConcurrentQueue<object> _events = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public void Add(object message)
        {
            _events.Enqueue(message);
            _arrived.Release();
        }

        public IReadOnlyList<T> All<T>() => _events.OfType<T>().ToList();

        public async Task<T> WaitForAsync<T>(Func<T, bool> match)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var found = _events.OfType<T>().FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                await _arrived.WaitAsync(deadline.Token);
            }
        }
    }

    public sealed class EventObserver(EventLog log) :
        IConsumer<ShardIngested>, IConsumer<SourceIngested>, IConsumer<RecordsQuarantined>, IConsumer<IngestFailed>
    {
        public Task Consume(ConsumeContext<ShardIngested> context) => Record(context.Message);
        public Task Consume(ConsumeContext<SourceIngested> context) => Record(context.Message);
        public Task Consume(ConsumeContext<RecordsQuarantined> context) => Record(context.Message);
        public Task Consume(ConsumeContext<IngestFailed> context) => Record(context.Message);

        private Task Record(object message)
        {
            log.Add(message);
            return Task.CompletedTask;
        }
    }
}
