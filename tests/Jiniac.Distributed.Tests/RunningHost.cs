using Microsoft.Extensions.Hosting;

namespace Jiniac.Distributed.Tests;

/// <summary>A started host that a test ends with <c>await using</c>: stopped (bus and silo leave cleanly), then disposed.</summary>
public sealed class RunningHost(IHost host) : IAsyncDisposable
{
    public IServiceProvider Services => host.Services;

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
