using System.Security.Cryptography;
using Jiniac.HubServer;
using Jiniac.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Publisher.Hub;

/// <summary>
/// The local hub servers this process runs (loopback, a free port each), one per hub folder: the state
/// folder's hub/ from startup (the default target), and any other publish.hub_dir on first use. Writes need
/// the per-process token handed to this publisher; reads are open, as for a public repository on the Hub.
/// </summary>
public sealed class LocalHubs(IOptions<PublisherOptions> options, StatePaths paths, TimeProvider time, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, LocalHubServer> _servers = new(StringComparer.Ordinal);
    private readonly string _token = "hf_local_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
    private readonly ILogger _logger = loggers.CreateLogger<LocalHubs>();

    public async Task<(LocalHubServer Server, HubConnection Connection)> GetAsync(string root, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(root);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_servers.TryGetValue(full, out var server))
            {
                server = await LocalHubServer.StartAsync(new LocalHubServerOptions
                {
                    Root = full,
                    Token = _token,
                    MultipartThreshold = options.Value.LocalHubMultipartThreshold,
                    ChunkSize = options.Value.LocalHubChunkSize,
                    ReadsNeedToken = false,
                    LockTimeout = options.Value.LockTimeout,
                }, time, loggers, cancellationToken);
                _servers[full] = server;
                HubLog.LocalHubStarted(_logger, full, server.Endpoint);
            }

            return (server, new HubConnection(server.Endpoint, _token));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.ServeLocalHub && options.Value.Endpoint is null)
        {
            await GetAsync(paths.Hub, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            foreach (var server in _servers.Values)
            {
                await server.DisposeAsync();
            }

            _servers.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
