using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts.Pipeline;
using YamlDotNet.Serialization;

namespace Jiniac.TrainLauncher.Backends;

/// <summary>
/// A batch/v1 Job manifest for one trainer start, from the same inputs as the local and Slurm backends
/// (docs/kubernetes.md says how to submit it). The pod mounts the platform's state folder at the same path,
/// so JOB.json's absolute paths (data, checkpoints, output) hold inside it and the launcher's follow-up of
/// metrics and checkpoints works on the shared volume. Several nodes become an Indexed Job, one pod per node.
/// </summary>
internal static class KubernetesJob
{
    public const string FileName = "k8s-job.yaml";
    public const string GpuResource = "nvidia.com/gpu";
    public const string ContainerName = "trainer";
    private const string StateVolume = "jiniac-state";
    private const int MaxNameLength = 63;

    public static string Render(TrainerLaunch launch, BackendSpec backend, string stateDir, string program, IReadOnlyList<string> arguments)
    {
        if (backend.Image is not { Length: > 0 } image)
        {
            throw new InvalidOperationException("training.backend.image is required for the kubernetes backend");
        }

        var command = launch.Command;
        var labels = new Dictionary<string, object>
        {
            ["app.kubernetes.io/name"] = "jiniac-trainer",
            ["app.kubernetes.io/managed-by"] = "jiniac-train-launcher",
            ["jiniac.io/run"] = LabelValue(command.RunId),
            ["jiniac.io/stage"] = LabelValue(command.Stage),
            ["jiniac.io/attempt"] = command.Attempt.ToString(CultureInfo.InvariantCulture),
            ["jiniac.io/restart"] = launch.Restart.ToString(CultureInfo.InvariantCulture),
        };

        // As the local backend does: the trainer appends its own output to trainer.log in the stage folder, after the setup lines.
        var shell = new StringBuilder();
        foreach (var line in backend.Setup)
        {
            shell.Append(line).Append('\n');
        }

        shell.Append("exec \"$0\" \"$@\" >>").Append(SlurmScript.Quote(launch.LogFile)).Append(" 2>&1 </dev/null");
        var env = new List<object>();
        foreach (var (name, value) in launch.Environment.OrderBy(static e => e.Key, StringComparer.Ordinal))
        {
            env.Add(new Dictionary<string, object> { ["name"] = name, ["value"] = value });
        }

        foreach (var pair in backend.Env)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            env.Add(new Dictionary<string, object> { ["name"] = pair[..equals], ["value"] = pair[(equals + 1)..] });
        }

        var requests = new Dictionary<string, object>();
        var limits = new Dictionary<string, object>();
        if (backend.CpuRequest is { Length: > 0 } cpu)
        {
            requests["cpu"] = cpu;
        }

        if (backend.MemoryRequest is { Length: > 0 } memory)
        {
            requests["memory"] = memory;
        }

        if (backend.GpusPerNode > 0)
        {
            // Extended resources are given as limits (requests default to them and may not differ).
            limits[GpuResource] = backend.GpusPerNode.ToString(CultureInfo.InvariantCulture);
        }

        var resources = new Dictionary<string, object>();
        if (requests.Count > 0)
        {
            resources["requests"] = requests;
        }

        if (limits.Count > 0)
        {
            resources["limits"] = limits;
        }

        var container = new Dictionary<string, object>
        {
            ["name"] = ContainerName,
            ["image"] = image,
            ["command"] = new List<object> { "/bin/sh", "-c", shell.ToString(), program },
            ["args"] = arguments.Cast<object>().ToList(),
            ["workingDir"] = launch.WorkingDirectory,
        };
        if (env.Count > 0)
        {
            container["env"] = env;
        }

        if (resources.Count > 0)
        {
            container["resources"] = resources;
        }

        var podSpec = new Dictionary<string, object>
        {
            // The launcher resumes from checkpoints itself; a pod restarted in place would reuse a stale JOB.json.
            ["restartPolicy"] = "Never",
            ["containers"] = new List<object> { container },
        };
        if (backend.VolumeClaim is { Length: > 0 } claim)
        {
            container["volumeMounts"] = new List<object> { new Dictionary<string, object> { ["name"] = StateVolume, ["mountPath"] = stateDir } };
            podSpec["volumes"] = new List<object>
            {
                new Dictionary<string, object> { ["name"] = StateVolume, ["persistentVolumeClaim"] = new Dictionary<string, object> { ["claimName"] = claim } },
            };
        }

        var jobSpec = new Dictionary<string, object> { ["backoffLimit"] = backend.BackoffLimit };
        if (backend.ActiveDeadlineSeconds > 0)
        {
            jobSpec["activeDeadlineSeconds"] = backend.ActiveDeadlineSeconds;
        }

        if (backend.Nodes > 1)
        {
            // One pod per node, each knowing its rank (JOB_COMPLETION_INDEX); all must succeed.
            jobSpec["completionMode"] = "Indexed";
            jobSpec["completions"] = backend.Nodes;
            jobSpec["parallelism"] = backend.Nodes;
        }

        jobSpec["template"] = new Dictionary<string, object>
        {
            ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
            ["spec"] = podSpec,
        };
        var manifest = new Dictionary<string, object>
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new Dictionary<string, object>
            {
                ["name"] = JobName(command.RunId, command.Stage, command.Attempt, launch.Restart),
                ["namespace"] = backend.Namespace,
                ["labels"] = labels,
            },
            ["spec"] = jobSpec,
        };
        var serializer = new SerializerBuilder().WithQuotingNecessaryStrings().Build();
        return "# Written by the Jiniac train-launcher; submit with: kubectl apply -f " + FileName + "\n" + serializer.Serialize(manifest);
    }

    /// <summary>
    /// jiniac-RUN-STAGE-aN-rM as a DNS-1123 label (lower case, digits, '-', at most 63 characters: the Job controller
    /// copies it into a pod label). Names that had to be changed or cut get a short hash, so two stages never collide.
    /// </summary>
    public static string JobName(string runId, string stage, int attempt, int restart)
    {
        var raw = $"jiniac-{runId}-{stage}";
        var suffix = $"-a{attempt.ToString(CultureInfo.InvariantCulture)}-r{restart.ToString(CultureInfo.InvariantCulture)}";
        var clean = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            clean.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-');
        }

        var name = clean.ToString();
        if (!string.Equals(name, raw, StringComparison.Ordinal) || name.Length + suffix.Length > MaxNameLength)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..8];
            var room = MaxNameLength - suffix.Length - hash.Length - 1;
            name = (name.Length > room ? name[..room] : name).TrimEnd('-') + "-" + hash;
        }

        return name + suffix;
    }

    /// <summary>A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric (safe names already are, but for length).</summary>
    public static string LabelValue(string value)
    {
        var cut = value.Length > MaxNameLength ? value[..MaxNameLength] : value;
        return cut.Trim('-', '_', '.');
    }
}
