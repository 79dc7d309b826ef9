using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.Orchestrator;
using Jiniac.Orchestrator.Grains;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// The orchestrator host exactly as its Program.cs builds it, with <c>Jiniac:Topology=Distributed</c>: its silo
/// keeps membership, grain state and reminders in a real Redis, and its bus runs on the real RabbitMQ.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisSiloTests(RabbitMqServer rabbit, RedisServer redis)
{
    [Fact]
    public async Task Grain_state_written_by_one_silo_is_read_back_by_a_new_silo_after_the_first_is_gone()
    {
        var cluster = "t-" + Guid.NewGuid().ToString("n");
        var runId = "run-" + Guid.NewGuid().ToString("n");
        var registryKey = "registry-" + cluster;

        await using (var first = await StartAsync(cluster, siloPort: 11311, gatewayPort: 30311))
        {
            await first.Services.GetRequiredService<IGrainFactory>().GetGrain<IRunRegistryGrain>(registryKey).AddAsync(runId);
        }

        // The state sits in Redis as the file storage's JSON dialect (camelCase, no CLR type names).
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address))
        {
            var server = connection.GetServer(redis.Address);
            var keys = server.Keys(pattern: $"*{registryKey}*").ToList();
            var key = Assert.Single(keys);
            var stored = string.Join('\n', (await connection.GetDatabase().HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}"));
            Assert.Contains($"{{\"runs\":[\"{runId}\"]}}", stored, StringComparison.Ordinal);
            Assert.DoesNotContain("$type", stored, StringComparison.Ordinal);
        }

        await using var second = await StartAsync(cluster, siloPort: 11312, gatewayPort: 30312);
        var runs = await second.Services.GetRequiredService<IGrainFactory>().GetGrain<IRunRegistryGrain>(registryKey).ListAsync();
        Assert.Equal([runId], runs);
    }

    [Fact]
    public async Task Two_silos_on_one_Redis_form_one_cluster()
    {
        var cluster = "t-" + Guid.NewGuid().ToString("n");
        await using var a = await StartAsync(cluster, siloPort: 11321, gatewayPort: 30321, controlPort: 0);
        await using var b = await StartAsync(cluster, siloPort: 11322, gatewayPort: 30322, controlPort: 0);

        // Each silo's own view of the membership table, as Orleans reads it from Redis.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var hosts = await a.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            var ports = hosts.Keys.Select(s => s.Endpoint.Port).Order().ToArray();
            if (ports.SequenceEqual([11321, 11322]))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < until, $"active silos after 60 s: {string.Join(", ", ports)}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_stage_reminder_stored_in_Redis_fires_in_a_new_silo_and_reissues_the_stages_unfinished_work()
    {
        var cluster = "t-" + Guid.NewGuid().ToString("n");
        var runId = "run-" + Guid.NewGuid().ToString("n");
        var quick = new Dictionary<string, string?>
        {
            ["Orchestrator:ReissueAfter"] = "00:00:01",
            ["Orchestrator:ReissueCheckPeriod"] = "00:00:02",
        };

        await using (var first = await StartAsync(cluster, siloPort: 11331, gatewayPort: 30331, settings: quick))
        {
            var submitted = await first.Services.GetRequiredService<IGrainFactory>().GetGrain<IRunGrain>(runId).SubmitAsync(OneStage());
            Assert.Null(submitted.Error);
            await Until(() => first.Services.GetRequiredService<Seen>().Of(runId).Count >= 1, "the first silo's IngestSource");
        }

        var firstGone = DateTime.UtcNow;

        // Nothing calls the run or its stage here: only the reminder the first silo left in Redis can wake the stage,
        // and only a command sent after the first silo was gone counts (the first may have re-issued once itself).
        await using var second = await StartAsync(cluster, siloPort: 11332, gatewayPort: 30332, settings: quick);
        await Until(() => second.Services.GetRequiredService<Seen>().Of(runId + "/sent").Any(t => new DateTime(long.Parse(t, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc) > firstGone),
            "IngestSource re-issued by the second silo");
        Assert.Contains("en/stories", second.Services.GetRequiredService<Seen>().Of(runId));
    }

    [Fact]
    public async Task The_journal_lives_in_Redis_a_redelivered_event_is_journalled_once_and_a_new_silo_reads_it_all()
    {
        var cluster = "t-" + Guid.NewGuid().ToString("n");
        var runId = "run-" + Guid.NewGuid().ToString("n");
        await using (var first = await StartAsync(cluster, siloPort: 11341, gatewayPort: 30341))
        {
            var journal = first.Services.GetRequiredService<IGrainFactory>().GetGrain<IJournalGrain>(runId);
            Assert.Equal(0, await journal.AppendOnceAsync("m1", "ShardIngested", "en", "{}"));
            Assert.Equal(1, await journal.AppendAsync("StageStatusChanged", "en", "{}"));
            Assert.Equal(0, await journal.AppendOnceAsync("m1", "ShardIngested", "en", "{}"));
        }

        await using var second = await StartAsync(cluster, siloPort: 11342, gatewayPort: 30342);
        var again = second.Services.GetRequiredService<IGrainFactory>().GetGrain<IJournalGrain>(runId);
        Assert.Equal(0, await again.AppendOnceAsync("m1", "ShardIngested", "en", "{}"));
        Assert.Equal(2, await again.AppendOnceAsync("m2", "ShardTokenized", "en", "{}"));
        var entries = await again.ReadAsync(0, 100);
        Assert.Equal([0L, 1, 2], entries.Select(e => e.Sequence));
        Assert.Equal(["ShardIngested", "StageStatusChanged", "ShardTokenized"], entries.Select(e => e.Type));
    }

    private static PipelineSpec OneStage() => new()
    {
        Name = "reminder-probe",
        Tokenizer = new TokenizerSpec { Train = new TokenizerTrainingSpec { VocabSize = 512 } },
        Model = new ModelSpec { HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositionEmbeddings = 128 },
        Training = new TrainingSpec { SeqLength = 64, MicroBatchSize = 2, LearningRate = 1e-3 },
        Evaluation = new EvaluationSpec(),
        Publish = new PublishSpec { Repo = "test/tiny" },
        Stages = [new StageSpec { Name = "en", TokenBudget = 10_000, Sources = [new SourceSpec { Name = "stories", Paths = ["/nonexistent/en/stories.jsonl"] }] }],
    };

    private static async Task Until(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"{what}: not seen within 90 s");
            await Task.Delay(100);
        }
    }

    private async Task<RunningHost> StartAsync(string cluster, int siloPort, int gatewayPort, int controlPort = 0, Dictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jiniac:Topology"] = nameof(Topology.Distributed),
            ["Jiniac:RabbitMq"] = rabbit.Address,
            ["Jiniac:Redis"] = redis.Address,
            ["Jiniac:StateDir"] = Path.Combine(Path.GetTempPath(), "jiniac-distributed-" + Guid.NewGuid().ToString("n")),
            ["Orchestrator:ClusterId"] = cluster,
            ["Orchestrator:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orchestrator:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Control:Url"] = $"http://127.0.0.1:{controlPort}",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Logging.ClearProviders();
        builder.AddJiniacDefaults();
        builder.AddOrchestratorService();
        // This host plays the ingest service: it records each IngestSource the orchestrator sends.
        builder.Services.AddSingleton<Seen>();
        builder.Services.BusRegistry().AddEndpoint(Queues.Ingest, 4, typeof(IngestProbe));
        builder.AddJiniacBus();
        var app = builder.Build();
        app.MapOrchestrator();
        // MassTransit keeps its log context in a static set only while null; a disposed host's would be reused.
        LogContext.Current = null;
        await app.StartAsync();
        return new RunningHost(app);
    }

}

public sealed class IngestProbe(Seen seen) : IConsumer<IngestSource>
{
    public Task Consume(ConsumeContext<IngestSource> context)
    {
        seen.Add(context.Message.RunId, $"{context.Message.Stage}/{context.Message.Source.Name}");
        seen.Add(context.Message.RunId + "/sent", (context.SentTime ?? DateTime.MinValue).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.CompletedTask;
    }
}
