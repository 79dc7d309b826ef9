using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A real embedded orchestrator host (silo, in-memory bus, control API) with no worker services: each
/// worker queue is consumed by a recorder instead, so the test sees every command and answers with events.
/// </summary>
public sealed class OrchestratorHost : IAsyncDisposable
{
    private OrchestratorHost(WebApplication app, string stateDir, CommandLog commands)
    {
        App = app;
        StateDir = stateDir;
        Commands = commands;
    }

    public WebApplication App { get; }

    public string StateDir { get; }

    public CommandLog Commands { get; }

    public IGrainFactory Grains => App.Services.GetRequiredService<IGrainFactory>();

    public IBus Bus => App.Services.GetRequiredService<IBus>();

    public string ControlUrl => App.Urls.First();

    public IRunGrain Run(string runId) => Grains.GetGrain<IRunGrain>(runId);

    public IStageGrain Stage(string runId, string stage) => Grains.GetGrain<IStageGrain>(GrainKeys.Stage(runId, stage));

    public Task Publish<T>(T message) where T : class => Bus.Publish(message);

    /// <param name="settings">More configuration (e.g. "Integrations:…", "Telemetry:*"), applied before any service reads it.</param>
    /// <param name="configure">More registrations (exporters, test consumers on the worker queues), made before the bus is configured.</param>
    public static async Task<OrchestratorHost> StartAsync(string stateDir, IEnumerable<KeyValuePair<string, string?>>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jiniac:StateDir"] = stateDir,
            ["Control:Url"] = "http://127.0.0.1:0",
            // Meters are matched by name across the process: with several hosts in one test process, a host that
            // stops would take the shared "Jiniac" metric streams down with it. Only the telemetry tests turn them on.
            ["Telemetry:Metrics"] = "false",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();

        var commands = new CommandLog();
        builder.AddJiniacDefaults();
        builder.AddOrchestratorService();
        builder.Services.AddSingleton(commands);
        var registry = builder.Services.BusRegistry();
        registry.AddEndpoint(Queues.Ingest, 1, typeof(IngestRecorder));
        registry.AddEndpoint(Queues.Tokenize, 1, typeof(TokenizeRecorder));
        registry.AddEndpoint(Queues.TrainLauncher, 1, typeof(TrainRecorder));
        registry.AddEndpoint(Queues.Evaluator, 1, typeof(EvaluateRecorder));
        registry.AddEndpoint(Queues.Publisher, 1, typeof(PublishRecorder));
        configure?.Invoke(builder);
        builder.AddJiniacBus();

        var app = builder.Build();
        app.MapOrchestrator();
        // MassTransit keeps its log context in a static that is set only while null: after an earlier host of this
        // process was disposed it would hand the new bus that host's disposed logger factory.
        LogContext.Current = null;
        await app.StartAsync();
        return new OrchestratorHost(app, stateDir, commands);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>One host per test class, on its own temporary state folder; tests in the class use distinct run ids.</summary>
public sealed class OrchestratorHostFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-orch-").FullName;

    public OrchestratorHost Host { get; private set; } = null!;

    public string Dir => _dir;

    public async Task InitializeAsync() => Host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"));

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
