using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;

namespace Jiniac.Evaluator;

/// <summary>
/// Runs a suite's external harness: <c>/bin/sh -c COMMAND</c> with {model_dir}, {output_dir} and
/// {tokenizer} replaced by shell-quoted paths, output appended to harness.log, killed (the whole process
/// group) at its timeout. A non-zero exit, a timeout or a missing results file is an
/// <see cref="EvaluationException"/> quoting the log's tail, so the stage fails with the reason instead of waiting.
/// </summary>
internal static partial class HarnessRunner
{
    public const string LogFile = "harness.log";
    private const int SigKill = 9;

    public static async Task<List<(string Name, double Value)>> RunAsync(
        HarnessSpec harness, string suite, string modelDir, string tokenizer, string workDir, int tailLines, CancellationToken cancellationToken)
    {
        var outputDir = Path.Combine(workDir, "output");
        if (Directory.Exists(outputDir))
        {
            Directory.Delete(outputDir, recursive: true);
        }

        Directory.CreateDirectory(outputDir);
        var logPath = Path.Combine(workDir, LogFile);
        var command = harness.Command
            .Replace("{model_dir}", Quote(modelDir), StringComparison.Ordinal)
            .Replace("{output_dir}", Quote(outputDir), StringComparison.Ordinal)
            .Replace("{tokenizer}", Quote(tokenizer), StringComparison.Ordinal);
        await File.AppendAllTextAsync(logPath, $"$ {command}\n", cancellationToken);

        // setsid: the harness and everything it starts form one process group, killed together on timeout.
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = workDir, UseShellExecute = false };
        start.ArgumentList.Add("--wait");
        start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec /bin/sh -c \"$1\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("jiniac-harness");
        start.ArgumentList.Add(logPath);
        start.ArgumentList.Add(command);
        using var process = Process.Start(start) ?? throw new EvaluationException($"suite '{suite}': could not start the harness");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(harness.TimeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            KillGroup(process);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new EvaluationException(
                $"suite '{suite}': the harness ran past its timeout of {harness.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s and was killed; last lines of {LogFile}:\n{LogTail.Read(logPath, tailLines)}");
        }

        if (process.ExitCode != 0)
        {
            throw new EvaluationException(
                $"suite '{suite}': the harness exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}; last lines of {LogFile}:\n{LogTail.Read(logPath, tailLines)}");
        }

        try
        {
            return HarnessResults.Read(harness.Results, outputDir);
        }
        catch (Exception e) when (e is EvaluationException or KeyNotFoundException or InvalidOperationException)
        {
            throw new EvaluationException($"suite '{suite}': {e.Message}; last lines of {LogFile}:\n{LogTail.Read(logPath, tailLines)}");
        }
    }

    private static void KillGroup(Process process)
    {
        // setsid made the shell a process-group leader: kill(-pgid) reaches everything the harness started.
        if (!OperatingSystem.IsWindows())
        {
            _ = Kill(-process.Id, SigKill);
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Single-quoted for /bin/sh.</summary>
    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
