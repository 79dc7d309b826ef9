using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>
/// The sbatch script of one trainer start. The batch shell runs the pipeline's setup lines, then the trainer
/// as one srun step per node; it forwards Slurm's time-limit warning (--signal=B:TERM@N) to that step so the
/// trainer saves and exits, and writes the step's exit code to a file the launcher reads (no accounting needed).
/// </summary>
internal static partial class SlurmScript
{
    public const string FolderName = ".slurm";

    public static string ExitFile(string workingDirectory, string jobId) => Path.Combine(workingDirectory, FolderName, jobId + ".exit");

    public static string Render(TrainerLaunch launch, BackendSpec backend, string program, IReadOnlyList<string> arguments)
    {
        var command = launch.Command;
        var script = new StringBuilder();
        script.Append("#!/bin/bash\n");
        script.Append("# Written by the Jiniac train-launcher for ").Append(command.RunId).Append('/').Append(command.Stage)
            .Append(", attempt ").Append(Text(command.Attempt)).Append(", restart ").Append(Text(launch.Restart)).Append(".\n");
        Directive(script, "job-name", JobName(command.RunId, command.Stage));
        Directive(script, "nodes", Text(backend.Nodes));
        Directive(script, "ntasks-per-node", "1");
        if (backend.GpusPerNode > 0)
        {
            Directive(script, "gres", "gpu:" + Text(backend.GpusPerNode));
        }

        if (backend.Partition is { Length: > 0 } partition)
        {
            Directive(script, "partition", partition);
        }

        if (backend.Account is { Length: > 0 } account)
        {
            Directive(script, "account", account);
        }

        if (backend.TimeLimit is { Length: > 0 } limit)
        {
            Directive(script, "time", limit);
        }

        if (backend.SignalGraceSeconds > 0)
        {
            // B: to the batch shell, which hands it to the step (a signal straight to the step would skip the exit-code file).
            Directive(script, "signal", "B:TERM@" + Text(backend.SignalGraceSeconds));
        }

        Directive(script, "chdir", launch.WorkingDirectory);
        Directive(script, "output", launch.LogFile);
        Directive(script, "open-mode", "append");
        // The launcher resubmits with resume_from set; Slurm's own requeue would restart with a stale JOB.json.
        Directive(script, "no-requeue", null);
        script.Append("set -u\n");
        foreach (var (name, value) in launch.Environment.OrderBy(static e => e.Key, StringComparer.Ordinal))
        {
            script.Append("export ").Append(name).Append('=').Append(Quote(value)).Append('\n');
        }

        foreach (var pair in backend.Env)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            script.Append("export ").Append(pair[..equals]).Append('=').Append(Quote(pair[(equals + 1)..])).Append('\n');
        }

        if (backend.Nodes > 1)
        {
            // The rendezvous point of a multi-node launcher (torchrun): the job's first node. Each task has SLURM_NODEID.
            script.Append("export MASTER_ADDR=\"$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\"\n");
            script.Append("export MASTER_PORT=\"${MASTER_PORT:-29500}\"\n");
        }

        foreach (var line in backend.Setup)
        {
            script.Append(line).Append('\n');
        }

        script.Append("step=\n");
        script.Append("trap '[ -n \"$step\" ] && kill -TERM \"$step\" 2>/dev/null' TERM\n");
        script.Append("srun --kill-on-bad-exit=1");
        if (backend.Image is { Length: > 0 } image)
        {
            script.Append(" --container-image=").Append(Quote(image)).Append(" --container-mounts=").Append(Quote(launch.WorkingDirectory + ":" + launch.WorkingDirectory));
        }

        script.Append(' ').Append(Quote(program));
        foreach (var argument in arguments)
        {
            script.Append(' ').Append(Quote(argument));
        }

        script.Append(" &\n");
        script.Append("step=$!\n");
        // A trapped signal interrupts wait (status > 128) while the trainer is still saving: wait again for its own status.
        script.Append("wait \"$step\"; rc=$?\n");
        script.Append("while kill -0 \"$step\" 2>/dev/null; do wait \"$step\"; rc=$?; done\n");
        script.Append("mkdir -p ").Append(Quote(Path.Combine(launch.WorkingDirectory, FolderName))).Append('\n');
        script.Append("echo \"$rc\" > ").Append(Quote(Path.Combine(launch.WorkingDirectory, FolderName))).Append("/\"$SLURM_JOB_ID\".exit.tmp && mv ")
            .Append(Quote(Path.Combine(launch.WorkingDirectory, FolderName))).Append("/\"$SLURM_JOB_ID\".exit.tmp ")
            .Append(Quote(Path.Combine(launch.WorkingDirectory, FolderName))).Append("/\"$SLURM_JOB_ID\".exit\n");
        script.Append("exit \"$rc\"\n");
        return script.ToString();
    }

    /// <summary>jiniac-RUN-STAGE, trimmed to what squeue shows comfortably.</summary>
    public static string JobName(string runId, string stage)
    {
        var name = $"jiniac-{runId}-{stage}";
        return name.Length <= 64 ? name : name[..64];
    }

    /// <summary>A word for bash: single-quoted unless it is plainly safe.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && SafeWord().IsMatch(value) ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static void Directive(StringBuilder script, string name, string? value)
    {
        if (value is not null && (value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"Slurm option --{name} cannot hold a line break: '{value}'");
        }

        script.Append("#SBATCH --").Append(name);
        if (value is not null)
        {
            // sbatch reads directive values up to white space unless quoted.
            script.Append('=').Append(value.Contains(' ', StringComparison.Ordinal) ? "\"" + value + "\"" : value);
        }

        script.Append('\n');
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[A-Za-z0-9_./:=@%+,-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeWord();
}
