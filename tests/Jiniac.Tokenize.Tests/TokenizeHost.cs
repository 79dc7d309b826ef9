using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Tokenize.Tests;

/// <summary>Every event the tokenize service publishes, as the test host's own consumer receives it.</summary>
public sealed class EventSink
{
    private readonly ConcurrentQueue<object> _events = new();
    private readonly SemaphoreSlim _signal = new(0);

    public void Add(object message)
    {
        _events.Enqueue(message);
        _signal.Release();
    }

    public IReadOnlyCollection<object> All => _events;

    /// <summary>Waits (up to a deadline) for the first event of type T that matches.</summary>
    public async Task<T> WaitAsync<T>(Func<T, bool> match, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            foreach (var e in _events)
            {
                if (e is T t && match(t))
                {
                    return t;
                }
            }

            await _signal.WaitAsync(cts.Token);
        }
    }
}

/// <summary>One shard of a <see cref="ShardsTokenized"/>: the sink holds one per shard besides the message itself.</summary>
public sealed record ShardResult(ShardsTokenized Message, TokenizedShard Shard)
{
    public string RunId => Message.RunId;

    public string Stage => Message.Stage;

    public string ShardKey => Shard.ShardKey;

    public string Prefix => Shard.Prefix;

    public long Documents => Shard.Documents;

    public long Tokens => Shard.Tokens;

    public bool Reused => Shard.Reused;
}

public sealed class EventCollector(EventSink sink) :
    IConsumer<TokenizerReady>, IConsumer<TokenizerFailed>, IConsumer<ShardsTokenized>, IConsumer<ShardTokenizeFailed>
{
    public Task Consume(ConsumeContext<TokenizerReady> context) => Record(context.Message);
    public Task Consume(ConsumeContext<TokenizerFailed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<ShardsTokenized> context)
    {
        sink.Add(context.Message);
        foreach (var shard in context.Message.Shards)
        {
            sink.Add(new ShardResult(context.Message, shard));
        }

        return Task.CompletedTask;
    }
    public Task Consume(ConsumeContext<ShardTokenizeFailed> context) => Record(context.Message);

    private Task Record(object message)
    {
        sink.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>The real host the service runs in: AddJiniacDefaults + AddTokenizeService + AddJiniacBus (in-memory bus), state in a temp folder.</summary>
public sealed class TokenizeHost : IAsyncDisposable
{
    private readonly IHost _host;

    private TokenizeHost(IHost host, string stateDir)
    {
        _host = host;
        StateDir = stateDir;
    }

    public string StateDir { get; }
    public EventSink Events => _host.Services.GetRequiredService<EventSink>();
    public IBlobStore Blobs => _host.Services.GetRequiredService<IBlobStore>();

    public static async Task<TokenizeHost> StartAsync()
    {
        var stateDir = Path.Combine(Path.GetTempPath(), "jiniac-tokenize-tests-" + Guid.NewGuid().ToString("N"));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration["Jiniac:StateDir"] = stateDir;
        builder.Configuration["Tokenize:Workers"] = "3";
        builder.Configuration["Tokenize:BatchBytes"] = "65536";
        builder.AddJiniacDefaults();
        builder.AddTokenizeService();
        builder.Services.AddSingleton<EventSink>();
        builder.Services.BusRegistry().AddEndpoint("tokenize-tests-events", 1, typeof(EventCollector));
        builder.AddJiniacBus();
        var host = builder.Build();
        await host.StartAsync();
        return new TokenizeHost(host, stateDir);
    }

    public Task SendAsync<T>(T command) where T : class =>
        _host.Services.GetRequiredService<ICommandSender>().SendAsync(command, CancellationToken.None);

    /// <summary>Stores documents as a shard blob (shard format: JSON lines {"id","text"}) and returns (key, blob).</summary>
    public async Task<(string Key, string Blob)> PutShardAsync(IEnumerable<string> texts)
    {
        var sb = new StringBuilder();
        var i = 0;
        foreach (var t in texts)
        {
            sb.Append(JsonSerializer.Serialize(new { id = $"test:{i++}", text = t })).Append('\n');
        }

        return await PutRawShardAsync(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    public async Task<(string Key, string Blob)> PutRawShardAsync(byte[] bytes)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var blob = $"shards/{key}.jsonl";
        await Blobs.PutAsync(blob, new MemoryStream(bytes), CancellationToken.None);
        return (key, blob);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try
        {
            Directory.Delete(StateDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }
}

internal static class TestFiles
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>Documents: the paragraphs of the English sample and the lines of the Japanese one.</summary>
    public static List<string> Documents()
    {
        var docs = new List<string>();
        foreach (var p in File.ReadAllText(Path("moby-dick-ch1-3.txt")).Split("\n\n"))
        {
            if (p.Trim().Length > 0)
            {
                docs.Add(p.Trim());
            }
        }

        foreach (var l in File.ReadAllLines(Path("ja-original.txt")))
        {
            if (l.Length > 0)
            {
                docs.Add(l);
            }
        }

        return docs;
    }
}
