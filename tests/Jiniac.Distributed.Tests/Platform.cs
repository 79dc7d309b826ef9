using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// The whole distributed topology as separate processes, through infra/platform/start.sh (the script people use):
/// its own ports, RabbitMQ vhost, Orleans cluster id, Redis and Azurite, so it shares the running RabbitMQ with other
/// tests without sharing their queues. Disposed: every service stopped, its Redis and Azurite too.
/// </summary>
public sealed class Platform : IAsyncDisposable
{
    private readonly Dictionary<string, string> _env;
    private GrpcChannel? _channel;

    private Platform(string dir, Dictionary<string, string> env)
    {
        Dir = dir;
        _env = env;
    }

    public string Dir { get; }

    /// <summary>The shared filesystem every service sees (Jiniac:StateDir): checkpoints, the local hub.</summary>
    public string SharedDir => Path.Combine(Dir, "shared");

    public string ControlUrl { get; private set; } = "";

    public string RabbitVhost => _env["JINIAC_RABBITMQ_VHOST"];

    /// <summary>The platform's own Redis (grain state, reminders, membership, journal).</summary>
    public string RedisAddress => "127.0.0.1:" + _env["JINIAC_REDIS_PORT"];

    /// <summary>The service names start.sh wrote, silos first: orchestrator-0.., ingest, tokenize, train-launcher, evaluator, publisher.</summary>
    public IReadOnlyList<string> Services => File.ReadAllLines(Path.Combine(Dir, "services")).Where(l => l.Length > 0).ToList();

    public ControlService.ControlServiceClient Control => new(CallsWith(ApiKey));

    /// <summary>The key <see cref="Control"/> sends (an orchestrator started with Control:ApiKeys settings); null: none.</summary>
    public string? ApiKey { get; private set; }

    /// <summary>Calls to the first silo's control address that carry this key (null: none), as the CLI sends it.</summary>
    public CallInvoker CallsWith(string? apiKey) => (_channel ??= GrpcChannel.ForAddress(ControlUrl)).Intercept(metadata =>
    {
        if (apiKey is not null)
        {
            metadata.Add("authorization", "Bearer " + apiKey);
        }

        return metadata;
    });

    /// <summary>A control client of one silo (each silo serves the control API; 0 is <see cref="ControlUrl"/>).</summary>
    public ControlService.ControlServiceClient ControlOf(int silo) =>
        new(GrpcChannel.ForAddress($"http://127.0.0.1:{int.Parse(_env["JINIAC_CONTROL_PORT"], System.Globalization.CultureInfo.InvariantCulture) + silo}"));

    public static async Task<Platform> StartAsync(string dir, int silos, IReadOnlyDictionary<string, string> settings, string? apiKey = null)
    {
        Directory.CreateDirectory(dir);
        var settingsFile = Path.Combine(dir, "settings.env");
        await File.WriteAllLinesAsync(settingsFile, settings.Select(s => $"{s.Key}={s.Value}"));
        var id = Guid.NewGuid().ToString("n")[..12];
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["JINIAC_CONTROL_PORT"] = Str(FreePorts(silos)),
            ["JINIAC_SILO_PORT"] = Str(FreePorts(silos)),
            ["JINIAC_GATEWAY_PORT"] = Str(FreePorts(silos)),
            ["AZURITE_PORT"] = Str(FreePorts(1)),
            // A Redis of its own: the shared one may be stopped by the test run that started it while this one goes on.
            ["JINIAC_REDIS_PORT"] = Str(FreePorts(1)),
            ["JINIAC_INFRA_STATE"] = Path.Combine(dir, "infra"),
            ["JINIAC_SILOS"] = Str(silos),
            ["JINIAC_RABBITMQ_VHOST"] = "jiniac-" + id,
            ["JINIAC_CLUSTER_ID"] = "platform-" + id,
            ["JINIAC_PLATFORM_SETTINGS"] = settingsFile,
        };
        var platform = new Platform(dir, env) { ApiKey = apiKey };
        try
        {
            platform.ControlUrl = (await platform.ScriptAsync("start.sh", dir)).Trim().Split('\n')[^1];
        }
        catch
        {
            await platform.DisposeAsync();
            throw;
        }

        return platform;
    }

    /// <summary>SIGKILL: the process ends at once, nothing flushed, no goodbye to the broker or the cluster.</summary>
    public Task KillAsync(string service) => ScriptAsync("service.sh", "kill", Dir, service);

    /// <summary>Starts the service again (a no-op while it runs) and waits until it is ready.</summary>
    public Task StartServiceAsync(string service) => ScriptAsync("service.sh", "start", Dir, service);

    public string LogOf(string service)
    {
        var path = Path.Combine(Dir, "logs", service + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        try
        {
            await ScriptAsync("stop.sh", Dir, "--servers");
        }
        catch (InvalidOperationException)
        {
            // The test's own failure is the one worth reporting.
        }

        // The platform's vhost outlives stop.sh (which keeps a platform's queued commands for its next start); a test's
        // platform is not started again, so its vhost goes, as the bus tests' own do.
        await new RabbitVhost(RabbitVhost, "").DisposeAsync();
    }

    private async Task<string> ScriptAsync(string script, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(InfraServer.RepoRoot, "infra", "platform", script))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in _env)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{script}: did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"infra/platform/{script} {string.Join(' ', args)}: exit {process.ExitCode}:\n{await stderr}");
    }

    /// <summary>
    /// The first of <paramref name="count"/> consecutive free loopback ports (silo n takes base + n), below the kernel's
    /// ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default). A port from that range can become the
    /// local end of any outgoing connection (to RabbitMQ, Redis, another silo) between the pick and a start or restart
    /// binding it: a platform start once failed so, AddressInUseException on a silo's gateway port.
    /// </summary>
    internal static int FreePorts(int count)
    {
        var below = EphemeralLow();
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(20_000, below - count);
            if (Enumerable.Range(port, count).All(IsFree))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports between 20000 and {below}");
    }

    private static int EphemeralLow()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return Math.Max(21_000, int.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 32_768;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Str(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
