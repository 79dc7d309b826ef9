using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Jiniac.Hosting.Tests;

/// <summary>
/// One real Azurite for the test run, started by infra/azurite/start.sh (which installs it with npm the
/// first time) on a free loopback port with its own data folder, and stopped by stop.sh at the end.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private static readonly TimeSpan ScriptDeadline = TimeSpan.FromMinutes(5);

    private readonly string _location = Path.Combine(Path.GetTempPath(), "jiniac-azurite-tests", Guid.NewGuid().ToString("N"));
    private readonly int _port = FreePort();

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync() => ConnectionString = await Script("start.sh");

    /// <summary>Stops the server and starts it again on the same data folder and port.</summary>
    public async Task RestartAsync()
    {
        await Script("stop.sh");
        ConnectionString = await Script("start.sh");
    }

    public async Task DisposeAsync()
    {
        await Script("stop.sh");
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private async Task<string> Script(string name)
    {
        var path = Path.Combine(RepoRoot(), "infra", "azurite", name);
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { path, "--location", _location, "--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot run {path}");
        using var deadline = new CancellationTokenSource(ScriptDeadline);
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{path} exited with {process.ExitCode}: {await stderr}");
        }

        return (await stdout).Trim();
    }

    private static string RepoRoot()
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
