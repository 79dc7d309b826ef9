using System.Diagnostics;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// Runs infra/&lt;server&gt;/start.sh (install if missing, start on loopback, wait until ready) once per test run,
/// through an xunit collection fixture, and stop.sh afterwards only if this run was the one that started it —
/// a server a person (or another test project) had running is left running.
/// </summary>
public abstract class InfraServer : IAsyncLifetime
{
    private readonly string _name;
    private bool _startedHere;

    protected InfraServer(string name) => _name = name;

    /// <summary>What start.sh printed: the connection string.</summary>
    public string Address { get; private set; } = "";

    public static string RepoRoot { get; } = FindRoot();

    public async Task InitializeAsync()
    {
        _startedHere = !await IsRunningAsync();
        Address = (await RunAsync(Path.Combine(RepoRoot, "infra", _name, "start.sh"))).Trim().Split('\n')[^1];
    }

    public async Task DisposeAsync()
    {
        if (_startedHere)
        {
            await RunAsync(Path.Combine(RepoRoot, "infra", _name, "stop.sh"));
        }
    }

    protected abstract Task<bool> IsRunningAsync();

    public static async Task<string> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file}: did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    protected static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jiniac.Platform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Jiniac.Platform.sln above {AppContext.BaseDirectory}");
    }
}

public sealed class RabbitMqServer() : InfraServer("rabbitmq")
{
    protected override Task<bool> IsRunningAsync() => AcceptsAsync(5672);

    /// <summary>
    /// A vhost of the test's own (deleted when disposed): queue names are fixed per service, and a durable queue, or a
    /// `_delay_*` parking queue holding an earlier run's failed command for half an hour, outlives its host.
    /// </summary>
    public async Task<RabbitVhost> VhostAsync(string prefix)
    {
        var name = $"jiniac-test-{prefix}-{Guid.NewGuid().ToString("n")[..8]}";
        await RunAsync(RabbitVhost.Ctl, "-q", "add_vhost", name);
        await RunAsync(RabbitVhost.Ctl, "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        return new RabbitVhost(name, $"{Address.TrimEnd('/')}/{name}");
    }
}

/// <summary>A RabbitMQ vhost made for one test, with the broker's own view of its queues.</summary>
public sealed class RabbitVhost(string name, string address) : IAsyncDisposable
{
    internal const string Ctl = "/usr/sbin/rabbitmqctl";

    public string Name { get; } = name;

    /// <summary>The AMQP URI into this vhost (Jiniac:RabbitMq).</summary>
    public string Address { get; } = address;

    /// <summary>name → (messages ready, unacknowledged, durable), from the broker itself.</summary>
    public Task<IReadOnlyDictionary<string, (int Ready, int Unacked, bool Durable)>> QueuesAsync() => QueuesOfAsync(Name);

    /// <summary>The queues of any vhost (a platform's own, say), as <see cref="QueuesAsync"/>.</summary>
    public static async Task<IReadOnlyDictionary<string, (int Ready, int Unacked, bool Durable)>> QueuesOfAsync(string vhost)
    {
        var text = await InfraServer.RunAsync(Ctl, "-q", "list_queues", "-p", vhost, "--no-table-headers", "name", "messages_ready", "messages_unacknowledged", "durable");
        var queues = new Dictionary<string, (int, int, bool)>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('\t');
            queues[f[0]] = (int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3] == "true");
        }

        return queues;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await InfraServer.RunAsync(Ctl, "-q", "delete_vhost", Name);
        }
        catch (InvalidOperationException)
        {
            // The test's own failure is the one worth reporting; a leftover vhost harms no other test.
        }
    }
}

public sealed class RedisServer() : InfraServer("redis")
{
    protected override Task<bool> IsRunningAsync() => AcceptsAsync(6379);
}

/// <summary>One collection for every test here: each server is started once per run, and its tests run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<RabbitMqServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "servers";
}
