using System.Diagnostics;

namespace Jiniac.Tests.Infrastructure;

/// <summary>
/// Reference tools from the npm registry, installed by the tests' setup once per machine into a cache folder
/// ($JINIAC_NPM_CACHE, default /tmp/jiniac-npm), one folder per package and version, under a file lock so test
/// processes running at once install it once. Scripts that import the package are copied beside node_modules.
/// </summary>
public static class NpmPackages
{
    /// <returns>The folder holding node_modules, with the given scripts (from the test's output folder) copied in.</returns>
    public static async Task<string> InstallAsync(string package, string version, params string[] scripts)
    {
        var cache = Environment.GetEnvironmentVariable("JINIAC_NPM_CACHE") is { Length: > 0 } root ? root : Path.Combine(Path.GetTempPath(), "jiniac-npm");
        var folder = Path.Combine(cache, $"{package.TrimStart('@').Replace('/', '-')}-{version}");
        Directory.CreateDirectory(folder);
        await using (await HoldAsync(Path.Combine(folder, ".lock")))
        {
            if (!File.Exists(Path.Combine(folder, "node_modules", package, "package.json")))
            {
                var info = new ProcessStartInfo("npm") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var arg in new[] { "install", "--prefix", folder, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", $"{package}@{version}" })
                {
                    info.ArgumentList.Add(arg);
                }

                using var npm = Process.Start(info) ?? throw new InvalidOperationException("npm did not start");
                var output = npm.StandardOutput.ReadToEndAsync();
                var errors = npm.StandardError.ReadToEndAsync();
                await npm.WaitForExitAsync();
                if (npm.ExitCode != 0)
                {
                    throw new InvalidOperationException($"npm install {package}@{version} failed:\n{await output}\n{await errors}");
                }
            }
        }

        foreach (var script in scripts)
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, script), Path.Combine(folder, Path.GetFileName(script)), overwrite: true);
        }

        return folder;
    }

    private static async Task<FileStream> HoldAsync(string path)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < TimeSpan.FromMinutes(5))
            {
                // Another test process is installing; its lock goes when it is done.
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
        }
    }
}
