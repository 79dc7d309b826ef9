using Jiniac.Evaluator;
using Jiniac.Hosting;
using Jiniac.Ingest;
using Jiniac.Orchestrator;
using Jiniac.Publisher;
using Jiniac.Tokenize;
using Jiniac.TrainLauncher;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jiniac.Cli;

/// <summary>
/// The embedded topology in one process: the orchestrator's silo and control API, and every worker
/// service, registered by the same AddXxxService() calls their own Program.cs files make.
/// </summary>
internal static class EmbeddedHost
{
    /// <param name="workers">False for a read-only host (status/events with no live host): grains only, no work issued.</param>
    public static WebApplication Build(string stateDir, bool workers, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });

        var trainer = TrainerLocator.Find();
        var config = new Dictionary<string, string?>
        {
            ["Jiniac:Topology"] = nameof(Topology.Embedded),
            ["Jiniac:StateDir"] = Path.GetFullPath(stateDir),
            ["Control:Url"] = "http://127.0.0.1:0",
            ["Orchestrator:IssueWork"] = workers ? "true" : "false",
            ["TrainLauncher:Trainer"] = trainer,
            ["Evaluator:Trainer"] = trainer,
        };
        if (settings is not null)
        {
            foreach (var (key, value) in settings)
            {
                config[key] = value;
            }
        }

        builder.Configuration.AddInMemoryCollection(config);
        // Environment variables (JINIAC__..., e.g. Orchestrator__ReissueAfter) still override.
        builder.Configuration.AddEnvironmentVariables();

        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetFullPath(stateDir), "logs", "jiniac.log")));
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("MassTransit", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        builder.AddJiniacDefaults();
        builder.AddOrchestratorService();
        if (workers)
        {
            builder.AddIngestService();
            builder.AddTokenizeService();
            builder.AddTrainLauncherService();
            builder.AddEvaluatorService();
            builder.AddPublisherService();
        }

        builder.AddJiniacBus();
        var app = builder.Build();
        app.MapOrchestrator();
        return app;
    }
}

/// <summary>Finds the reference trainer: $JINIAC_TRAINER, else the build output beside this CLI's in the repository.</summary>
internal static class TrainerLocator
{
    public static string Find()
    {
        var fromEnv = Environment.GetEnvironmentVariable("JINIAC_TRAINER");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        // tools/Jiniac.Cli/bin/<Configuration>/net10.0/ → tools/Jiniac.Trainer/bin/<Configuration>/net10.0/jiniac-trainer.dll
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = baseDir.Name;
        var configuration = baseDir.Parent?.Name;
        for (var dir = baseDir; dir is not null; dir = dir.Parent)
        {
            if (configuration is null)
            {
                break;
            }

            var candidate = Path.Combine(dir.FullName, "tools", "Jiniac.Trainer", "bin", configuration, framework, "jiniac-trainer.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "jiniac-trainer.dll");
    }
}
