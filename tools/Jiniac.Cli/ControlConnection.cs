using System.Diagnostics;
using System.Text.Json;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Grpc.Integrations.V1;
using Jiniac.Orchestrator;
using Microsoft.AspNetCore.Builder;

namespace Jiniac.Cli;

/// <summary>
/// A control-API client for a state folder: the live host's (found through {state}/control.json), or,
/// when none runs, a host of our own — read-only unless <c>workers</c> is asked for. Only one host
/// owns a state folder at a time ({state}/host.lock).
/// </summary>
internal sealed class ControlConnection : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly WebApplication? _host;
    private readonly HostLock? _lock;

    private ControlConnection(GrpcChannel channel, WebApplication? host, HostLock? hostLock, string? apiKey = null)
    {
        _channel = channel;
        _host = host;
        _lock = hostLock;
        // Every call says which local user made it (recorded with replays on a keyless loopback host) and carries the key.
        var calls = channel.Intercept(metadata =>
        {
            metadata.Add(UserHeader, Environment.UserName);
            if (!string.IsNullOrEmpty(apiKey))
            {
                metadata.Add("authorization", "Bearer " + apiKey);
            }

            return metadata;
        });
        Client = new ControlService.ControlServiceClient(calls);
        Webhooks = new WebhookService.WebhookServiceClient(calls);
    }

    /// <summary>The webhook API (jiniac.integrations.v1.WebhookService), served on the control API's address.</summary>
    public WebhookService.WebhookServiceClient Webhooks { get; }

    /// <summary>The header the orchestrator's access check reads the local user from (ControlAccessMiddleware.UserHeader).</summary>
    public const string UserHeader = "x-jiniac-user";

    public ControlService.ControlServiceClient Client { get; }

    /// <summary>
    /// To the orchestrator at <see cref="ControlTarget.Endpoint"/> when one is given, else as <see cref="OpenAsync(string, bool, bool, CancellationToken)"/>.
    /// <paramref name="mustBeLive"/>: a running orchestrator is needed (a submit), not a read-only host of our own.
    /// </summary>
    public static async Task<ControlConnection> OpenAsync(ControlTarget target, bool mustBeLive, CancellationToken cancellationToken)
    {
        if (target.Endpoint is { } endpoint)
        {
            return new ControlConnection(GrpcChannel.ForAddress(endpoint), null, null, target.ApiKey);
        }

        if (mustBeLive && TryLiveEndpoint(Path.GetFullPath(target.StateDir)) is null)
        {
            throw new CliException($"no orchestrator is running on {target.StateDir}: start one with `jiniac serve` (or `jiniac run PIPELINE`), or pass --endpoint URL", ExitCodes.NotFound);
        }

        var connection = await OpenAsync(target.StateDir, startWorkers: false, mustExist: true, cancellationToken);
        return target.ApiKey is null ? connection : connection.WithKey(target.ApiKey);
    }

    private ControlConnection WithKey(string apiKey) => new(_channel, _host, _lock, apiKey);

    /// <summary>The host this process started, if any (null when attached to another process's host).</summary>
    public WebApplication? OwnHost => _host;

    public static async Task<ControlConnection> OpenAsync(string stateDir, bool startWorkers, bool mustExist, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(stateDir);
        if (TryLiveEndpoint(root) is { } address)
        {
            return new ControlConnection(GrpcChannel.ForAddress(address), null, null);
        }

        if (mustExist && !Directory.Exists(Path.Combine(root, "grains")))
        {
            throw new CliException($"no Jiniac state in {root}: start a run with `jiniac run PIPELINE`, or pass --state-dir or --endpoint", ExitCodes.NotFound);
        }

        Directory.CreateDirectory(root);
        var hostLock = HostLock.TryAcquire(Path.Combine(root, "host.lock"))
            ?? throw new CliException($"another jiniac process owns {root} and its control API is not answering yet; try again in a moment");
        try
        {
            var host = EmbeddedHost.Build(root, startWorkers);
            await host.StartAsync(cancellationToken);
            var url = host.Urls.First();
            return new ControlConnection(GrpcChannel.ForAddress(url), host, hostLock);
        }
        catch
        {
            hostLock.Dispose();
            throw;
        }
    }

    private static string? TryLiveEndpoint(string root)
    {
        var file = Path.Combine(root, "control.json");
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            var endpoint = JsonSerializer.Deserialize<ControlEndpoint>(File.ReadAllText(file), OrchestratorJson.Options);
            if (endpoint is null || endpoint.Pid == Environment.ProcessId)
            {
                return null;
            }

            using var process = Process.GetProcessById(endpoint.Pid);
            return process.HasExited ? null : endpoint.Address;
        }
        catch (Exception e) when (e is ArgumentException or JsonException or IOException or InvalidOperationException)
        {
            return null; // a stale file from a host that died
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (_host is not null)
        {
            await _host.StopAsync(CancellationToken.None);
            await _host.DisposeAsync();
        }

        _lock?.Dispose();
    }
}

/// <summary>
/// Where a command's control API is: --endpoint URL (or JINIAC_ENDPOINT) for an orchestrator by address, else the
/// state folder's host; --api-key KEY (or JINIAC_API_KEY) for an orchestrator with API keys.
/// </summary>
internal sealed record ControlTarget(string StateDir, string? Endpoint, string? ApiKey)
{
    public static ControlTarget From(CliArgs args)
    {
        var endpoint = args.Get("endpoint") ?? NonEmpty(Environment.GetEnvironmentVariable("JINIAC_ENDPOINT"));
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new CliException($"--endpoint: '{endpoint}' is not an http:// or https:// address (e.g. http://orchestrator:5000)");
        }

        return new ControlTarget(Cli.StateDir(args), endpoint, args.Get("api-key") ?? NonEmpty(Environment.GetEnvironmentVariable("JINIAC_API_KEY")));
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>An exclusive lock on {state}/host.lock (flock through FileShare.None), released by the OS if the process dies.</summary>
internal sealed class HostLock : IDisposable
{
    private readonly FileStream _stream;

    private HostLock(FileStream stream) => _stream = stream;

    public static HostLock? TryAcquire(string path)
    {
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            stream.Write(pid);
            stream.Flush();
            return new HostLock(stream);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _stream.Dispose();
}
