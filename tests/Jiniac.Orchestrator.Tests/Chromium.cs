using System.Diagnostics;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// Debian's headless Chromium (installed by infra/chromium/install.sh), run on a page: its DOM after the scripts
/// ran, and a screenshot. The flags keep it off the network (this machine has none) and out of any profile.
/// </summary>
internal static class Chromium
{
    private const string Executable = "/usr/bin/chromium";

    private static readonly Lazy<Task> Installed = new(InstallAsync);

    /// <summary>Loads <paramref name="url"/>, lets its scripts run for a while of virtual time, and returns the DOM.</summary>
    public static async Task<string> DumpDomAsync(string url, string profileDir)
    {
        var (exit, stdout, stderr) = await RunAsync(profileDir, "--dump-dom", url);
        Assert.True(exit == 0 && stdout.Contains("</html>", StringComparison.Ordinal), $"chromium --dump-dom exited {exit}:\n{stderr}");
        return stdout;
    }

    public static async Task<Png> ScreenshotAsync(string url, string profileDir, string file)
    {
        var (exit, _, stderr) = await RunAsync(profileDir, $"--screenshot={file}", url);
        Assert.True(exit == 0 && File.Exists(file), $"chromium --screenshot exited {exit}:\n{stderr}");
        return Png.Read(file);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string profileDir, params string[] args)
    {
        await Installed.Value;
        var info = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var flag in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
            "--window-size=1280,1400", "--virtual-time-budget=8000", $"--user-data-dir={Directory.CreateDirectory(Path.Combine(profileDir, "profile-" + Guid.NewGuid().ToString("N"))).FullName}",
        })
        {
            info.ArgumentList.Add(flag);
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"chromium {string.Join(' ', args)} did not finish in 2 minutes:\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task InstallAsync()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "infra", "chromium", "install.sh")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(dir.FullName, "infra", "chromium", "install.sh")]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"infra/chromium/install.sh failed:\n{await stdout}{await stderr}");
    }
}
