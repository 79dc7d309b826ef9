using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Tests.Infrastructure;

// Shared by the launcher, evaluator and publisher tests (linked into each project): a real host with
// the in-memory bus, the service under test, and a consumer that records the events it publishes.

/// <summary>Every event a test host saw, in arrival order.</summary>
public sealed class EventLog
{
    private readonly Lock _lock = new();
    private readonly List<object> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<object> All
    {
        get
        {
            lock (_lock)
            {
                return _events.ToArray();
            }
        }
    }

    public IReadOnlyList<T> Of<T>()
    {
        var all = All;
        var result = new List<T>();
        foreach (var item in all)
        {
            if (item is T typed)
            {
                result.Add(typed);
            }
        }

        return result;
    }

    public void Add(object message)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.Add(message);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>The first event of type <typeparamref name="T"/> matching <paramref name="match"/>; fails the test after <paramref name="timeout"/>.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                foreach (var item in _events)
                {
                    if (item is T typed && (match is null || match(typed)))
                    {
                        return typed;
                    }
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no {typeof(T).Name} arrived; saw: {string.Join(", ", All.Select(e => e.GetType().Name))}");
            }
        }
    }
}

public sealed class EventRecorder<T>(EventLog log) : IConsumer<T> where T : class
{
    public Task Consume(ConsumeContext<T> context)
    {
        log.Add(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class ServiceHost : IAsyncDisposable
{
    private readonly IHost _host;

    private ServiceHost(IHost host, string stateDir)
    {
        _host = host;
        StateDir = stateDir;
    }

    public string StateDir { get; }
    public IServiceProvider Services => _host.Services;
    public EventLog Events => _host.Services.GetRequiredService<EventLog>();
    public ICommandSender Sender => _host.Services.GetRequiredService<ICommandSender>();
    public IBlobStore Blobs => _host.Services.GetRequiredService<IBlobStore>();
    public StatePaths Paths => _host.Services.GetRequiredService<StatePaths>();

    public static async Task<ServiceHost> StartAsync(
        string stateDir,
        IReadOnlyDictionary<string, string?> configuration,
        Action<IHostApplicationBuilder> addService,
        params Type[] events)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Test" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(configuration) { ["Jiniac:StateDir"] = stateDir });
        builder.AddJiniacDefaults();
        addService(builder);
        builder.Services.AddSingleton<EventLog>();
        var recorders = new Type[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            recorders[i] = typeof(EventRecorder<>).MakeGenericType(events[i]);
        }

        // One message at a time, so the log keeps the order in which events were published.
        builder.Services.BusRegistry().AddEndpoint("test-events", 1, recorders);
        builder.AddJiniacBus();
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return new ServiceHost(host, stateDir);
    }

    /// <summary>Stops the host as a real shutdown would (hosted services' StopAsync run).</summary>
    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A fresh folder under the system temp folder, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "jiniac-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A trainer killed at the very end may still hold a file; the temp folder is cleaned by the OS.
        }
    }
}
