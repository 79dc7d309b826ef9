using System.Diagnostics;
using System.Text.Json;
using Jiniac.Tests.Infrastructure;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// Node's amqplib (npm, installed once per machine into a cache folder by the test's setup, like the other npm tools
/// the tests use) running js/amqp-subscriber.mjs: a subscriber that is not .NET.
/// </summary>
public sealed class NodeAmqpSubscriber : IAsyncDisposable
{
    public const string Version = "0.10.9";
    private readonly Process _process;
    private readonly StreamReader _stdout;
    private readonly Task<string> _stderr;

    private NodeAmqpSubscriber(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Starts the subscriber and returns once its queue is bound.</summary>
    public static async Task<NodeAmqpSubscriber> StartAsync(string url, string exchange, string binding, int count, CancellationToken cancellationToken)
    {
        var folder = await NpmPackages.InstallAsync("amqplib", Version, Path.Combine("js", "amqp-subscriber.mjs"));
        var info = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(folder, "amqp-subscriber.mjs"), url, exchange, binding, count.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        var subscriber = new NodeAmqpSubscriber(Process.Start(info) ?? throw new InvalidOperationException("node did not start"));
        var first = await subscriber._stdout.ReadLineAsync(cancellationToken);
        if (first is null || !first.Contains("\"ready\":true", StringComparison.Ordinal))
        {
            Assert.Fail($"the Node subscriber did not bind its queue: {first}\n{await subscriber._stderr}");
        }

        return subscriber;
    }

    /// <summary>The next message the subscriber printed.</summary>
    public async Task<JsonElement> NextAsync(CancellationToken cancellationToken)
    {
        var line = await _stdout.ReadLineAsync(cancellationToken);
        if (line is null)
        {
            Assert.Fail($"the Node subscriber ended (exit {(_process.HasExited ? _process.ExitCode : -1)}): {await _stderr}");
        }

        return JsonDocument.Parse(line!).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
