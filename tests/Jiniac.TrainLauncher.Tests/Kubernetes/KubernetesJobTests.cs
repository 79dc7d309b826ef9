using System.Text.RegularExpressions;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.TrainLauncher.Backends;
using YamlDotNet.RepresentationModel;

namespace Jiniac.TrainLauncher.Tests.Kubernetes;

/// <summary>
/// The rendered Job manifest, parsed back and checked against what the Kubernetes API requires of a batch/v1 Job
/// (there is no cluster here to apply it to).
/// </summary>
public sealed partial class KubernetesJobTests
{
    private static readonly BackendSpec Backend = new()
    {
        Kind = BackendSpec.Kubernetes,
        Image = "registry.example/jiniac-trainer:1.0",
        Namespace = "llm",
        Nodes = 1,
        GpusPerNode = 8,
        CpuRequest = "16",
        MemoryRequest = "200Gi",
        VolumeClaim = "jiniac-state",
        BackoffLimit = 0,
        ActiveDeadlineSeconds = 86400,
        Setup = ["ulimit -n 65536"],
        Env = ["NCCL_DEBUG=WARN"],
    };

    private static TrainerLaunch Launch(LaunchTraining? command = null, int restart = 1) => new()
    {
        Program = "/opt/jiniac/jiniac-trainer",
        Arguments = ["train", "--job", "/state/runs/run-1/en-web/JOB.json"],
        WorkingDirectory = "/state/runs/run-1/en-web",
        LogFile = "/state/runs/run-1/en-web/trainer.log",
        Environment = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "8" },
        Command = command ?? LauncherFixture.Command(steps: 10, attempt: 3),
        Restart = restart,
    };

    private static YamlMappingNode Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            var map = Assert.IsType<YamlMappingNode>(node);
            Assert.True(map.Children.ContainsKey(key), $"missing {key} in {string.Join('.', path)}");
            node = map[key];
        }

        return node;
    }

    private static string Text(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(At(node, path)).Value!;

    [Fact]
    public void The_manifest_is_a_valid_batch_v1_Job_with_image_command_resources_volume_env_and_labels()
    {
        var yaml = KubernetesJob.Render(Launch(), Backend, "/state", "/opt/jiniac/jiniac-trainer", ["train", "--job", "/state/runs/run-1/en-web/JOB.json"]);
        var root = Parse(yaml);

        Assert.Equal("batch/v1", Text(root, "apiVersion"));
        Assert.Equal("Job", Text(root, "kind"));
        var name = Text(root, "metadata", "name");
        Assert.Equal("jiniac-run-1-en-web-a3-r1", name);
        Assert.Matches(Dns1123Label(), name);
        Assert.Equal("llm", Text(root, "metadata", "namespace"));

        // Labels on the Job and its pods, valid label values, numbers as strings.
        foreach (var labels in new[] { At(root, "metadata", "labels"), At(root, "spec", "template", "metadata", "labels") })
        {
            Assert.Equal("run-1", Text(labels, "jiniac.io/run"));
            Assert.Equal("en-web", Text(labels, "jiniac.io/stage"));
            Assert.Equal("3", Text(labels, "jiniac.io/attempt"));
            foreach (var (_, value) in (YamlMappingNode)labels)
            {
                Assert.Matches(LabelValuePattern(), ((YamlScalarNode)value).Value!);
            }
        }

        Assert.Contains("jiniac.io/attempt: \"3\"", yaml);
        Assert.Equal("0", Text(root, "spec", "backoffLimit"));
        Assert.Equal("86400", Text(root, "spec", "activeDeadlineSeconds"));
        Assert.False(((YamlMappingNode)At(root, "spec")).Children.ContainsKey("completionMode"));

        var pod = At(root, "spec", "template", "spec");
        // A Job's pods may only restart Never or OnFailure.
        Assert.Equal("Never", Text(pod, "restartPolicy"));
        var container = Assert.IsType<YamlMappingNode>(Assert.Single(Assert.IsType<YamlSequenceNode>(At(pod, "containers")).Children));
        Assert.Equal("trainer", Text(container, "name"));
        Assert.Equal("registry.example/jiniac-trainer:1.0", Text(container, "image"));
        Assert.Equal("/state/runs/run-1/en-web", Text(container, "workingDir"));
        var command = ((YamlSequenceNode)At(container, "command")).Children.Select(n => ((YamlScalarNode)n).Value).ToList();
        Assert.Equal(["/bin/sh", "-c"], command.Take(2));
        Assert.Equal("ulimit -n 65536\nexec \"$0\" \"$@\" >>/state/runs/run-1/en-web/trainer.log 2>&1 </dev/null", command[2]);
        Assert.Equal("/opt/jiniac/jiniac-trainer", command[3]);
        Assert.Equal(["train", "--job", "/state/runs/run-1/en-web/JOB.json"], ((YamlSequenceNode)At(container, "args")).Children.Select(n => ((YamlScalarNode)n).Value));

        Assert.Equal("8", Text(container, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("16", Text(container, "resources", "requests", "cpu"));
        Assert.Equal("200Gi", Text(container, "resources", "requests", "memory"));
        var env = ((YamlSequenceNode)At(container, "env")).Children.Select(e => (Text(e, "name"), Text(e, "value"))).ToList();
        Assert.Equal([("OMP_NUM_THREADS", "8"), ("NCCL_DEBUG", "WARN")], env);

        // Every mount names a declared volume; the state folder is mounted where JOB.json's paths point.
        var mount = Assert.Single(((YamlSequenceNode)At(container, "volumeMounts")).Children);
        var volume = Assert.Single(((YamlSequenceNode)At(pod, "volumes")).Children);
        Assert.Equal(Text(volume, "name"), Text(mount, "name"));
        Assert.Equal("/state", Text(mount, "mountPath"));
        Assert.Equal("jiniac-state", Text(volume, "persistentVolumeClaim", "claimName"));
    }

    [Fact]
    public void Several_nodes_make_an_indexed_job_with_one_pod_per_node()
    {
        var yaml = KubernetesJob.Render(Launch(), Backend with { Nodes = 4, VolumeClaim = null, ActiveDeadlineSeconds = 0, GpusPerNode = 0, CpuRequest = null, MemoryRequest = null },
            "/state", "/opt/jiniac/jiniac-trainer", []);
        var spec = At(Parse(yaml), "spec");
        Assert.Equal(("Indexed", "4", "4"), (Text(spec, "completionMode"), Text(spec, "completions"), Text(spec, "parallelism")));
        Assert.False(((YamlMappingNode)spec).Children.ContainsKey("activeDeadlineSeconds"));
        var container = ((YamlSequenceNode)At(spec, "template", "spec", "containers")).Children[0];
        Assert.False(((YamlMappingNode)container).Children.ContainsKey("resources"));
        Assert.False(((YamlMappingNode)container).Children.ContainsKey("volumeMounts"));
    }

    [Theory]
    [InlineData("run-1", "en-web", 1, 0, "jiniac-run-1-en-web-a1-r0")]
    [InlineData("Run_1", "ja.web", 2, 5, null)]
    [InlineData("a-very-long-run-identifier-that-goes-on-and-on", "and-a-long-stage-name-too", 12, 3, null)]
    public void Job_names_are_DNS_labels_and_distinct(string run, string stage, int attempt, int restart, string? expected)
    {
        var name = KubernetesJob.JobName(run, stage, attempt, restart);
        Assert.Matches(Dns1123Label(), name);
        Assert.EndsWith($"-a{attempt}-r{restart}", name);
        if (expected is not null)
        {
            Assert.Equal(expected, name);
        }

        // Names changed to fit carry a hash of the original, so "Run_1" and "run-1" do not collide.
        Assert.NotEqual(KubernetesJob.JobName("run-1", "ja-web", attempt, restart), KubernetesJob.JobName("Run_1", "ja.web", attempt, restart));
    }

    [Fact]
    public void A_manifest_without_an_image_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => KubernetesJob.Render(Launch(), Backend with { Image = null }, "/state", "/x", []));
        Assert.Contains("training.backend.image", e.Message);
    }

    [Fact]
    public async Task A_kubernetes_stage_writes_its_manifest_and_fails_saying_it_was_not_submitted()
    {
        await using var fixture = await LauncherFixture.StartAsync();
        var command = LauncherFixture.Command(steps: 10);
        await fixture.Host.Sender.SendAsync(command with { Training = command.Training with { Backend = Backend } }, CancellationToken.None);

        var failed = await fixture.Events.WaitForAsync<TrainingFailed>();
        var manifest = Path.Combine(fixture.TrainDir, KubernetesJob.FileName);
        Assert.Contains($"kubectl apply -f {manifest}", failed.Reason);
        var root = Parse(await File.ReadAllTextAsync(manifest));
        var container = ((YamlSequenceNode)At(root, "spec", "template", "spec", "containers")).Children[0];
        // The state folder (data, checkpoints, this stage's outputs) is where the pod sees it too.
        Assert.Equal(fixture.StateDir, Text(((YamlSequenceNode)At(container, "volumeMounts")).Children[0], "mountPath"));
        Assert.Equal(fixture.TrainDir, Text(container, "workingDir"));
        Assert.Empty(fixture.Events.Of<TrainingStarted>());
        Assert.False(File.Exists(Path.Combine(fixture.TrainDir, "trainer.log")));
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")]
    private static partial Regex LabelValuePattern();
}
