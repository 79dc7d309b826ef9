using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Jiniac.HubServer;
using Jiniac.Publisher.Hub;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Publisher.Tests;

/// <summary>
/// The official JavaScript client, @huggingface/hub from the npm registry, against our local hub: it creates
/// a repository, uploads a commit (regular, basic LFS and multipart LFS files), makes a branch, lists and
/// downloads its files back, and downloads a file our own client committed. Installed once per machine
/// into a cache folder by npm (the test's setup), then run with Node.
/// </summary>
public sealed class OfficialClientTests : IAsyncLifetime
{
    /// <summary>2.x needs Node ≥ 18 (engines); the machine has Node 20.</summary>
    public const string Version = "2.17.5";
    private const string Token = "hf_local_official_client_test";
    private readonly TempFolder _temp = new();
    private LocalHubServer _server = null!;

    public async Task InitializeAsync() => _server = await TestHubs.StartAsync(Path.Combine(_temp.Path, "hub"), Token, 64 * 1024);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task The_official_client_uploads_to_lists_and_downloads_from_the_local_hub()
    {
        var client = await InstallAsync();
        // A commit made by our own client, for the official one to download.
        var ours = new HubClient(new HttpClient(), new HubConnection(_server.Endpoint, Token), new HubClientOptions(), TimeProvider.System, NullLogger.Instance);
        var repo = new RepoId("acme", "ours");
        await ours.CreateRepoAsync(repo, false, CancellationToken.None);
        var weights = Path.Combine(_temp.Path, "model.safetensors");
        var bytes = new byte[150_000];
        new Random(5).NextBytes(bytes);
        await File.WriteAllBytesAsync(weights, bytes);
        var file = new UploadFile("model.safetensors", weights, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var lfs = await ours.PreuploadAsync(repo, "main", [file], CancellationToken.None);
        await ours.UploadLfsAsync(repo, "main", [file], CancellationToken.None);
        await ours.CommitAsync(repo, "main", "ours", "", null, [file], lfs, [], CancellationToken.None);

        var before = _server.Uploads;
        var run = await RunAsync("node", [Path.Combine(client, "hub-roundtrip.mjs"), _server.Endpoint.ToString().TrimEnd('/'), Token, "acme/from-js", "model.safetensors"], client);
        Assert.True(run.ExitCode == 0, run.Output);
        var result = JsonDocument.Parse(run.Stdout.Trim().Split('\n')[^1]).RootElement;

        Assert.Equal("jiniac", result.GetProperty("user").GetString());
        Assert.Equal(new Uri(_server.Endpoint, "acme/from-js").ToString(), result.GetProperty("repoUrl").GetString());
        var commit = result.GetProperty("commit").GetString()!;
        var folder = Path.Combine(_temp.Path, "hub", "acme", "from-js", "revisions", commit);
        foreach (var expected in result.GetProperty("expected").EnumerateObject())
        {
            // What it uploaded is on disk byte for byte, and what it downloaded is the same.
            Assert.Equal(expected.Value.GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, expected.Name)))));
            Assert.Equal(expected.Value.GetString(), result.GetProperty("downloaded").GetProperty(expected.Name).GetString());
        }

        var store = _server.Store;
        var files = store.ReadCommit("acme/from-js", commit).Files.ToDictionary(f => f.Path);
        Assert.False(files["README.md"].Lfs);
        Assert.True(files["weights/small.safetensors"].Lfs);
        Assert.True(files["weights/large.bin"].Lfs);
        Assert.Equal(commit, store.Resolve("acme/from-js", "from-js"));
        Assert.Equal("Upload from the official client", store.ReadCommit("acme/from-js", commit).Summary);

        var listed = result.GetProperty("listed").EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
        Assert.Equal(["", "README.md", "weights", "weights/large.bin", "weights/small.safetensors"],
            listed.Keys.Select(k => k == ".gitattributes" ? "" : k).Order(StringComparer.Ordinal));
        Assert.Equal("directory", listed["weights"].GetProperty("type").GetString());
        Assert.Equal(200_000, listed["weights/large.bin"].GetProperty("size").GetInt64());
        Assert.Equal(files["weights/large.bin"].Sha256, listed["weights/large.bin"].GetProperty("lfs").GetString());

        // It took the basic transfer for the small LFS file and the multipart one the hub offered for the large one.
        Assert.Equal((before.Basic + 1, before.Multipart + 1), _server.Uploads);
        Assert.Equal(file.Sha256, result.GetProperty("ours").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("missing").ValueKind);
    }

    /// <summary>npm install into a cache folder shared by test runs; the round-trip script goes beside node_modules so its import resolves.</summary>
    private static Task<string> InstallAsync() => NpmPackages.InstallAsync("@huggingface/hub", Version, Path.Combine("js", "hub-roundtrip.mjs"));

    private static async Task<(int ExitCode, string Stdout, string Output)> RunAsync(string program, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        return (process.ExitCode, await stdout, output);
    }
}
