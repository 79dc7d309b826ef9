using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Jiniac.EndToEnd.Tests;

/// <summary>Runs the built `jiniac` CLI (and, through it, `jiniac-trainer`) as separate processes.</summary>
internal static class Jiniac
{
    private static readonly string Configuration =
        typeof(Jiniac).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "Configuration").Value!;

    public static string RepoRoot { get; } = FindRoot();

    public static string Cli => Path.Combine(RepoRoot, "tools", "Jiniac.Cli", "bin", Configuration, "net10.0", "jiniac.dll");

    public static string Trainer => Path.Combine(RepoRoot, "tools", "Jiniac.Trainer", "bin", Configuration, "net10.0", "jiniac-trainer.dll");

    public static Process Start(string workingDir, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Cli);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["JINIAC_TRAINER"] = Trainer;
        return Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
    }

    public static async Task<Result> RunAsync(string workingDir, TimeSpan timeout, params string[] args)
    {
        using var process = Start(workingDir, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"jiniac {string.Join(' ', args)} did not finish in {timeout}:\n{await stdout}\n{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
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

        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => new StringBuilder().Append("exit ").Append(ExitCode).AppendLine()
            .AppendLine("stdout:").AppendLine(Stdout).AppendLine("stderr:").AppendLine(Stderr).ToString();
    }
}
