using System.Diagnostics;
using System.Text.Json;

namespace Jiniac.Publisher.Tests;

/// <summary>Runs py/check_llama_layout.py (Debian's python3 + numpy, installed by infra/python-numpy/install.sh) on a folder.</summary>
internal static class LayoutCheck
{
    private static readonly Lazy<Task> Installed = new(InstallAsync);

    public static async Task<(bool Ok, JsonElement Report, string Output)> RunAsync(string folder)
    {
        await Installed.Value;
        var (exit, stdout, output) = await RunProcessAsync("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "py", "check_llama_layout.py"), folder]);
        var lines = stdout.Trim().Split('\n');
        Assert.True(lines[^1].StartsWith('{'), $"the check printed no report:\n{output}");
        var report = JsonDocument.Parse(lines[^1]).RootElement.Clone();
        Assert.Equal(exit == 0, report.GetProperty("ok").GetBoolean());
        return (exit == 0, report, output);
    }

    private static async Task InstallAsync()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "infra", "python-numpy", "install.sh")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var (exit, _, output) = await RunProcessAsync("bash", [Path.Combine(dir.FullName, "infra", "python-numpy", "install.sh")]);
        Assert.True(exit == 0, $"infra/python-numpy/install.sh failed:\n{output}");
    }

    private static async Task<(int Exit, string Stdout, string Output)> RunProcessAsync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stdout + await stderr);
    }
}
