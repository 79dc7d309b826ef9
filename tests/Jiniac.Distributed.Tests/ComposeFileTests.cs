using System.Text.RegularExpressions;
using System.Xml.Linq;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Jiniac.Distributed.Tests;

/// <summary>
/// docker-compose.yml cannot be run here (no Docker), so it is held to the repository instead: every service project
/// has an image built from the root Dockerfile, every path it names exists, and every setting it passes is a property of
/// an options class (a misspelt key would be silently ignored by configuration binding).
/// </summary>
public sealed partial class ComposeFileTests
{
    private static readonly string Root = InfraServer.RepoRoot;

    [Fact]
    public void Every_service_project_has_an_image_whose_entry_point_is_its_own_published_output()
    {
        var stages = DockerfileStages();
        var build = stages["build"];
        var compose = ComposeServices();
        var projects = Directory.GetFiles(Path.Combine(Root, "services"), "Program.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetFileName(Path.GetDirectoryName(p)!)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(projects);

        foreach (var project in projects)
        {
            var publish = build.SingleOrDefault(l => l.Contains($"dotnet publish services/{project}/{project}.csproj", StringComparison.Ordinal));
            Assert.True(publish is not null, $"Dockerfile: the build stage does not publish services/{project}");
            var output = PublishOutput().Match(publish!).Groups[1].Value;
            var stage = stages.SingleOrDefault(s => s.Value.Any(l => l.StartsWith($"COPY --from=build {output} .", StringComparison.Ordinal))).Key;
            Assert.True(stage is not null, $"Dockerfile: no stage copies {output} ({project})");
            Assert.Contains(stages[stage!], l => l == $"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]");
            var service = compose.SingleOrDefault(s => Scalar(s.Value, "build", "target") == stage);
            Assert.True(service.Key is not null, $"docker-compose.yml: no service builds the '{stage}' target ({project})");
            Assert.Equal("Dockerfile", Scalar(service.Value, "build", "dockerfile"));
            Assert.Equal(".", Scalar(service.Value, "build", "context"));
            // A service that exits comes back: a silo started while Redis is down exits, as any crashed worker does.
            Assert.True(Scalar(service.Value, "restart") == "unless-stopped", $"docker-compose.yml: {service.Key} has no restart: unless-stopped");
        }
    }

    [Fact]
    public void Every_path_the_Dockerfile_publishes_exists_and_the_trainer_it_ships_is_the_one_the_services_are_told_to_run()
    {
        var build = DockerfileStages()["build"];
        var published = build.Select(l => PublishedProject().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(published);
        foreach (var path in published)
        {
            Assert.True(File.Exists(Path.Combine(Root, path)), $"Dockerfile: {path} does not exist");
        }

        var trainerAssembly = XDocument.Load(Path.Combine(Root, "tools/Jiniac.Trainer/Jiniac.Trainer.csproj")).Descendants("AssemblyName").Single().Value;
        foreach (var (service, key) in new[] { ("train-launcher", "TrainLauncher__Trainer"), ("evaluator", "Evaluator__Trainer") })
        {
            Assert.Equal($"/app/trainer/{trainerAssembly}.dll", Environment(ComposeServices()[service])[key]);
        }
    }

    [Fact]
    public void Every_environment_key_names_a_property_of_an_options_class_and_the_servers_it_points_at_are_in_the_file()
    {
        var options = OptionsClasses();
        var compose = ComposeServices();
        foreach (var (name, service) in compose.Where(s => s.Value.Children.ContainsKey("build")))
        {
            var env = Environment(service);
            Assert.Equal("Distributed", env["Jiniac__Topology"]);
            Assert.Equal("azure", env["Jiniac__Blobs__Kind"]);
            Assert.Contains(new Uri(env["Jiniac__RabbitMq"]).Host, compose.Keys);
            Assert.Contains(Regex.Match(env["Jiniac__Blobs__ConnectionString"], "BlobEndpoint=http://([^:/]+)").Groups[1].Value, compose.Keys);
            foreach (var key in env.Keys)
            {
                var path = key.Split("__");
                var section = options.Keys.Where(s => s.Split(':').Length < path.Length && s.Split(':').SequenceEqual(path[..s.Split(':').Length], StringComparer.OrdinalIgnoreCase))
                    .MaxBy(s => s.Length);
                Assert.True(section is not null, $"docker-compose.yml: {name}: {key}: no options class binds the section '{path[0]}'");
                var property = path[section!.Split(':').Length];
                Assert.True(options[section].Contains(property, StringComparer.OrdinalIgnoreCase),
                    $"docker-compose.yml: {name}: {key}: '{property}' is not a property of the '{section}' options ({string.Join(", ", options[section])})");
            }
        }

        Assert.Contains(compose["orchestrator"].Children.Keys, k => k.ToString() == "networks");
        Assert.Contains(Environment(compose["orchestrator"])["Jiniac__Redis"].Split(':')[0], compose.Keys);
        var redis = ((YamlSequenceNode)compose["redis"].Children["command"]).Children.Select(c => c.ToString()).ToList();
        Assert.Equal("always", redis[redis.IndexOf("--appendfsync") + 1]);
        Assert.Equal("yes", redis[redis.IndexOf("--appendonly") + 1]);
    }

    /// <summary>Section → property names, read from the services' sources (the test project does not reference every service).</summary>
    private static Dictionary<string, List<string>> OptionsClasses()
    {
        var result = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "services"), "*.cs", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file);
            foreach (var body in ClassBody().Matches(text).Select(m => m.Groups[1].Value))
            {
                var section = SectionConst().Match(body);
                if (section.Success)
                {
                    result[section.Groups[1].Value] = [.. Property().Matches(body).Select(m => m.Groups[1].Value)];
                }
            }
        }

        Assert.Contains("Jiniac", result.Keys);
        return result;
    }

    private static Dictionary<string, List<string>> DockerfileStages()
    {
        var stages = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        var text = File.ReadAllText(Path.Combine(Root, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = Regex.Replace(raw.Trim(), @"\s+", " ");
            if (line.StartsWith("FROM ", StringComparison.Ordinal))
            {
                stages[line.Split(" AS ")[1]] = current = [];
            }
            else if (line.Length > 0 && !line.StartsWith('#'))
            {
                current?.AddRange(line.Split(" && "));
            }
        }

        return stages;
    }

    private static Dictionary<string, YamlMappingNode> ComposeServices()
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")));
        // The file shares its environment through anchors and merge keys (<<: *jiniac-env).
        yaml.Load(new MergingParser(new Parser(reader)));
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children["services"];
        return services.Children.ToDictionary(e => e.Key.ToString(), e => (YamlMappingNode)e.Value, StringComparer.Ordinal);
    }

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        ((YamlMappingNode)service.Children["environment"]).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);

    private static string? Scalar(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode map || !map.Children.TryGetValue(key, out var next))
            {
                return null;
            }

            current = next;
        }

        return current.ToString();
    }

    [GeneratedRegex(@"-o (\S+)")]
    private static partial Regex PublishOutput();

    [GeneratedRegex(@"dotnet publish (\S+\.csproj)")]
    private static partial Regex PublishedProject();

    [GeneratedRegex(@"public sealed (?:partial )?class \w+[^{]*\{(.*?)\n\}", RegexOptions.Singleline)]
    private static partial Regex ClassBody();

    [GeneratedRegex("const string Section = \"([^\"]+)\"")]
    private static partial Regex SectionConst();

    [GeneratedRegex(@"public [\w<>,\s\?\[\]]+? (\w+) \{ get; set; \}")]
    private static partial Regex Property();
}
