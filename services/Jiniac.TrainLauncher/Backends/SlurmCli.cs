using System.Diagnostics;
using System.Text;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>Slurm's client commands, run as child processes with the configured SLURM_CONF.</summary>
internal sealed class SlurmCli(SlurmOptions options)
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public async Task<Result> RunAsync(string command, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.BinDirectory is { Length: > 0 } bin ? Path.Combine(bin, command) : command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (options.Conf is { Length: > 0 } conf)
        {
            start.Environment["SLURM_CONF"] = conf;
        }

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(error, e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not run the Slurm command '{start.FileName}' ({e.Message}); is Slurm installed (infra/slurm/start.sh)?", e);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        lock (output)
        {
            lock (error)
            {
                return new Result(process.ExitCode, output.ToString(), error.ToString());
            }
        }
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.Append(line).Append('\n');
        }
    }
}
