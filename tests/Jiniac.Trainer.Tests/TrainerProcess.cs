using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Jiniac.Trainer.Tests;

/// <summary>Runs the built jiniac-trainer with `dotnet`, as the launcher would, and writes its jobs.</summary>
public static partial class TrainerProcess
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>tools/Jiniac.Trainer/bin/&lt;Configuration&gt;/net10.0/jiniac-trainer.dll of this checkout.</summary>
    public static string TrainerDll { get; } = LocateTrainer();

    public static string WriteJob(string folder, string name, object job)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, JsonSerializer.Serialize(job, Json));
        return path;
    }

    public static Process Start(string verb, string jobPath, string workingDirectory, StringBuilder log)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(TrainerDll);
        info.ArgumentList.Add(verb);
        info.ArgumentList.Add("--job");
        info.ArgumentList.Add(jobPath);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs to the end (at most <paramref name="timeout"/>) and returns the exit code.</summary>
    public static async Task<(int ExitCode, string Log)> RunAsync(string verb, string jobPath, string workingDirectory, TimeSpan? timeout = null)
    {
        var log = new StringBuilder();
        using var process = Start(verb, jobPath, workingDirectory, log);
        await WaitAsync(process, timeout ?? TimeSpan.FromMinutes(2));
        return (process.ExitCode, Snapshot(log));
    }

    public static async Task WaitAsync(Process process, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the trainer (pid {process.Id}) did not finish within {timeout}");
        }

        // The parameterless wait drains the redirected output.
        process.WaitForExit();
    }

    public static void SendSigterm(Process process)
    {
        const int SIGTERM = 15;
        if (Kill(process.Id, SIGTERM) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static string Snapshot(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static string LocateTrainer()
    {
        var configuration = typeof(TrainerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Jiniac.Platform.sln")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException($"no Jiniac.Platform.sln above {AppContext.BaseDirectory}");
        }

        var dll = Path.Combine(dir.FullName, "tools", "Jiniac.Trainer", "bin", configuration, "net10.0", "jiniac-trainer.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build tools/Jiniac.Trainer first: {dll} is missing", dll);
    }
}
