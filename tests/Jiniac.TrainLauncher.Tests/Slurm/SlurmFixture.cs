using System.Diagnostics;

namespace Jiniac.TrainLauncher.Tests.Slurm;

/// <summary>
/// A real single-node Slurm (munged, slurmctld, slurmd), started once for every test of the "slurm" collection by
/// infra/slurm/start.sh (which installs it when missing) and stopped by infra/slurm/stop.sh afterwards.
/// </summary>
public sealed class SlurmFixture : IAsyncLifetime
{
    public const string Collection = "slurm";

    public string StateDir { get; } = Path.Combine(Path.GetTempPath(), "jiniac-slurm-tests");

    public string Conf { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var output = await RunScriptAsync("start.sh");
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("SLURM_CONF=", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"infra/slurm/start.sh printed no SLURM_CONF line:\n{output}");
        Conf = line["SLURM_CONF=".Length..].Trim();
    }

    public async Task DisposeAsync() => await RunScriptAsync("stop.sh");

    /// <summary>Runs a Slurm client command against this cluster; returns its standard output.</summary>
    public Task<string> RunAsync(string command, params string[] arguments) => RunProcessAsync(command, arguments, Conf);

    private Task<string> RunScriptAsync(string name) =>
        RunProcessAsync("bash", [Path.Combine(RepositoryRoot(), "infra", "slurm", name), StateDir], null);

    private static async Task<string> RunProcessAsync(string fileName, string[] arguments, string? conf)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (conf is not null)
        {
            start.Environment["SLURM_CONF"] = conf;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await error}");
        }

        return await output;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "infra", "slurm", "start.sh")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("infra/slurm/start.sh not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(SlurmFixture.Collection)]
public sealed class SlurmCollection : ICollectionFixture<SlurmFixture>;
