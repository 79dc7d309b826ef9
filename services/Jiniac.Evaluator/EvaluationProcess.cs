using System.Diagnostics;
using Jiniac.Hosting;
using System.Runtime.InteropServices;
using System.Text;

namespace Jiniac.Evaluator;

/// <summary>
/// Runs the trainer's <c>evaluate</c> verb as a child process, output appended to a log file. Started
/// through <c>/bin/sh -c 'exec …'</c> so the evaluator itself (same pid) owns the log and gets the signal.
/// </summary>
internal static partial class EvaluationProcess
{
    private const int SigTerm = 15;

    public static async Task<int> RunAsync(EvaluatorOptions options, string jobFile, string workingDirectory, string logFile, CancellationToken cancellationToken)
    {
        var trainer = options.Trainer;
        var start = new ProcessStartInfo("/bin/sh") { WorkingDirectory = workingDirectory, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("jiniac-evaluate");
        start.ArgumentList.Add(logFile);
        if (trainer.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add("dotnet");
            start.ArgumentList.Add(Path.GetFullPath(trainer));
        }
        else
        {
            start.ArgumentList.Add(trainer.Contains(Path.DirectorySeparatorChar) ? Path.GetFullPath(trainer) : trainer);
        }

        start.ArgumentList.Add("evaluate");
        start.ArgumentList.Add("--job");
        start.ArgumentList.Add(jobFile);
        foreach (var (name, value) in options.Environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {trainer}");
        try
        {
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            // Shutting down: ask politely, then make sure nothing is left behind.
            if (!process.HasExited && !OperatingSystem.IsWindows())
            {
                _ = Kill(process.Id, SigTerm);
            }

            using var grace = new CancellationTokenSource(options.StopTimeout);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }

            throw;
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of a log file (read from its end).</summary>

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
