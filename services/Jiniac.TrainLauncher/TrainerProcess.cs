using System.Diagnostics;
using Jiniac.Hosting;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Jiniac.TrainLauncher;

/// <summary>
/// One trainer process. It is started through <c>/bin/sh -c 'exec …'</c> so that the trainer itself
/// (same pid) writes straight into its log file: the log survives the launcher, and a signal goes to
/// the trainer, not to a wrapper.
/// </summary>
internal sealed partial class TrainerProcess : IDisposable
{
    public const int ExitStopped = 75;
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigTerm = 15;

    private readonly Process _process;

    private TrainerProcess(Process process, long startTime)
    {
        _process = process;
        Pid = process.Id;
        StartTime = startTime;
    }

    public int Pid { get; }

    /// <summary>The kernel's start time of the process (/proc/pid/stat), to recognise it again after a pid reuse.</summary>
    public long StartTime { get; }

    public static (string FileName, IReadOnlyList<string> Prefix) Command(string trainer) =>
        trainer.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? ("dotnet", [Path.GetFullPath(trainer)])
            : (trainer.Contains(Path.DirectorySeparatorChar) ? Path.GetFullPath(trainer) : trainer, []);

    public static TrainerProcess Start(string trainer, IReadOnlyList<string> arguments, string workingDirectory, string logFile, IReadOnlyDictionary<string, string> environment)
    {
        var (fileName, prefix) = Command(trainer);
        var start = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("jiniac-trainer");
        start.ArgumentList.Add(logFile);
        start.ArgumentList.Add(fileName);
        foreach (var argument in prefix)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        return new TrainerProcess(process, ReadStartTime(process.Id) ?? 0);
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    public Task Exited => _process.WaitForExitAsync(CancellationToken.None);

    public bool HasExited => _process.HasExited;

    /// <summary>Asks the trainer to save and exit (it exits 75).</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            _ = Kill(Pid, SigTerm);
            // A SIGSTOPped trainer acts on SIGTERM only once it runs again.
            _ = Kill(Pid, SigCont);
        }
    }

    public void ForceKill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose() => _process.Dispose();

    /// <summary>
    /// A trainer left running by an earlier host (crash, kill -9) still writes into the folder; a new one
    /// beside it would corrupt both. The pid file names it; if that very process still runs, it is asked
    /// to save and exit (then killed after <paramref name="timeout"/>) before anything new starts.
    /// </summary>
    public static async Task<int?> EndOrphanAsync(string pidFile, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var recorded = Checkpoints.TryReadJson<PidRecord>(pidFile);
        if (recorded is null || !OperatingSystem.IsLinux() || recorded.Pid <= 0)
        {
            return null;
        }

        if (ReadStartTime(recorded.Pid) != recorded.StartTime)
        {
            File.Delete(pidFile);
            return null;
        }

        _ = Kill(recorded.Pid, SigTerm);
        var deadline = time.GetUtcNow() + timeout;
        while (ReadStartTime(recorded.Pid) == recorded.StartTime)
        {
            if (time.GetUtcNow() >= deadline)
            {
                _ = Kill(recorded.Pid, SigKill);
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }

        File.Delete(pidFile);
        return recorded.Pid;
    }

    public void WritePidFile(string pidFile) =>
        AtomicFile.Write(pidFile, JsonSerializer.SerializeToUtf8Bytes(new PidRecord { Pid = Pid, StartTime = StartTime }));

    /// <summary>The last <paramref name="lines"/> lines of a log file (read from its end, never the whole file).</summary>

    private static long? ReadStartTime(int pid)
    {
        try
        {
            // Field 22 of /proc/pid/stat; the command name (field 2) may hold spaces, so count after its ')'.
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 && fields[0] != "Z" ? long.Parse(fields[19], CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static int Kill(int pid, int signal) => OperatingSystem.IsWindows() ? -1 : NativeKill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int signal);

    private sealed record PidRecord
    {
        public int Pid { get; init; }
        public long StartTime { get; init; }
    }
}
