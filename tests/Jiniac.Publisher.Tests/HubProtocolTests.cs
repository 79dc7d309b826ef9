using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Jiniac.HubServer;
using Jiniac.Publisher.Hub;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Publisher.Tests;

/// <summary>Our Hub client against our local hub server, over real HTTP on loopback; every claim is read back from the server's folder or its answers.</summary>
public sealed class HubProtocolTests : IAsyncLifetime
{
    private const string Token = "hf_test_0123456789abcdef";
    private static readonly RepoId Repo = new("acme", "tiny");
    private readonly TempFolder _temp = new();
    private readonly HttpClient _http = new();
    private LocalHubServer _server = null!;

    public async Task InitializeAsync() => _server = await TestHubs.StartAsync(Path.Combine(_temp.Path, "hub"), Token, 32 * 1024);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
        _temp.Dispose();
    }

    private HubClient Client(string? token = Token, HttpMessageHandler? handler = null, TimeProvider? time = null) =>
        new(handler is null ? _http : new HttpClient(handler), new HubConnection(_server.Endpoint, token), new HubClientOptions(), time ?? TimeProvider.System, NullLogger.Instance);

    private async Task<UploadFile> FileAsync(string path, byte[] content)
    {
        var local = Path.Combine(_temp.Path, "files", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        await File.WriteAllBytesAsync(local, content);
        return new UploadFile(path, local, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)));
    }

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private string RepoDir => Path.Combine(_temp.Path, "hub", "acme", "tiny");

    [Fact]
    public async Task A_commit_with_regular_basic_LFS_and_multipart_LFS_files_lands_as_a_browsable_revision()
    {
        var client = Client();
        Assert.True(await client.CreateRepoAsync(Repo, isPrivate: false, CancellationToken.None));
        Assert.False(await client.CreateRepoAsync(Repo, isPrivate: false, CancellationToken.None));
        Assert.Equal("jiniac", await client.WhoAmIAsync(CancellationToken.None));

        var config = await FileAsync("config.json", Encoding.UTF8.GetBytes("{\"model_type\": \"llama\"}\n"));
        var small = await FileAsync("model.safetensors", Random(5_000, 1));
        var large = await FileAsync("shards/model-00001-of-00001.safetensors", Random(100_000 + 12_345, 2));
        var binary = await FileAsync("blob.dat", [1, 0, 2]);
        var empty = await FileAsync("empty.txt", []);
        UploadFile[] files = [config, small, large, binary, empty];

        var lfs = await client.PreuploadAsync(Repo, "main", files, CancellationToken.None);
        Assert.Equal(["blob.dat", "model.safetensors", "shards/model-00001-of-00001.safetensors"], lfs.Order(StringComparer.Ordinal));

        var lfsFiles = files.Where(f => lfs.Contains(f.PathInRepo)).ToList();
        Assert.Equal(3, await client.UploadLfsAsync(Repo, "main", lfsFiles, CancellationToken.None));
        Assert.Equal((2, 1), _server.Uploads);
        // Asked again, the hub has every object: nothing is sent.
        Assert.Equal(0, await client.UploadLfsAsync(Repo, "main", lfsFiles, CancellationToken.None));
        Assert.Equal((2, 1), _server.Uploads);
        // The large one came in parts (ceil(112345 / 32768) = 4), and the parts are gone once joined.
        Assert.False(Directory.Exists(Path.Combine(RepoDir, "lfs", "incoming", large.Sha256)));

        var head = await client.RevisionShaAsync(Repo, "main", CancellationToken.None);
        var commit = await client.CommitAsync(Repo, "main", "Add a model", "two lines\nof description", head, files, lfs, [], CancellationToken.None);

        var folder = Path.Combine(RepoDir, "revisions", commit);
        foreach (var file in files)
        {
            Assert.Equal(await File.ReadAllBytesAsync(file.LocalPath), await File.ReadAllBytesAsync(Path.Combine(folder, file.PathInRepo)));
        }

        Assert.True(File.Exists(Path.Combine(folder, ".gitattributes")));
        Assert.Equal(commit, await client.RevisionShaAsync(Repo, "main", CancellationToken.None));
        var history = await client.CommitsAsync(Repo, "main", CancellationToken.None);
        Assert.Equal([("Add a model", "two lines\nof description"), ("initial commit", "")], history.Select(c => (c.Title, c.Message)));
        Assert.Equal(head, history[1].Id);

        // The tree reports git's blob ids (checked against git itself) and the LFS oids.
        var tree = await client.TreeAsync(Repo, commit, CancellationToken.None);
        Assert.Equal(GitHashObject(config.LocalPath), tree.Single(e => e.Path == "config.json").Oid);
        Assert.Null(tree.Single(e => e.Path == "config.json").LfsOid);
        Assert.Equal(large.Sha256, tree.Single(e => e.Path == large.PathInRepo).LfsOid);
        Assert.Equal(GitHashObject(Pointer(large)), tree.Single(e => e.Path == large.PathInRepo).Oid);
        Assert.Contains(tree, e => e is { Path: "shards", Type: "directory" });

        // resolve serves the bytes, with ranges.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Endpoint, $"acme/tiny/resolve/{commit}/{large.PathInRepo}"));
        request.Headers.Range = new RangeHeaderValue(100, 199);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var authorized = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Endpoint, $"acme/tiny/resolve/main/{large.PathInRepo}"));
        authorized.Headers.Range = new RangeHeaderValue(100, 199);
        authorized.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var ranged = await _http.SendAsync(authorized);
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(File.ReadAllBytes(large.LocalPath)[100..200], await ranged.Content.ReadAsByteArrayAsync());
        Assert.Equal(commit, ranged.Headers.GetValues("X-Repo-Commit").Single());
    }

    [Fact]
    public async Task A_second_commit_keeps_unchanged_files_deletes_what_it_says_and_a_branch_and_tag_name_revisions()
    {
        var client = Client();
        await client.CreateRepoAsync(Repo, false, CancellationToken.None);
        var a = await FileAsync("a.txt", "first"u8.ToArray());
        var b = await FileAsync("b.txt", "second"u8.ToArray());
        var first = await client.CommitAsync(Repo, "main", "one", "", null, [a, b], new HashSet<string>(), [], CancellationToken.None);
        var a2 = await FileAsync("a.txt", "changed"u8.ToArray());
        var second = await client.CommitAsync(Repo, "main", "two", "", first, [a2], new HashSet<string>(), ["b.txt"], CancellationToken.None);

        Assert.Equal([".gitattributes", "a.txt"], Directory.GetFiles(Path.Combine(RepoDir, "revisions", second)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("changed", File.ReadAllText(Path.Combine(RepoDir, "revisions", second, "a.txt")));
        Assert.Equal("second", File.ReadAllText(Path.Combine(RepoDir, "revisions", first, "b.txt")));

        Assert.True(await client.CreateBranchAsync(Repo, "stage-1", first, overwrite: false, CancellationToken.None));
        Assert.False(await client.CreateBranchAsync(Repo, "stage-1", second, overwrite: false, CancellationToken.None));
        Assert.Equal(first, await client.RevisionShaAsync(Repo, "stage-1", CancellationToken.None));
        Assert.True(await client.CreateBranchAsync(Repo, "stage-1", second, overwrite: true, CancellationToken.None));
        Assert.Equal(second, await client.RevisionShaAsync(Repo, "stage-1", CancellationToken.None));
        Assert.True(await client.CreateTagAsync(Repo, "v1", first, CancellationToken.None));
        Assert.Equal(first, await client.RevisionShaAsync(Repo, "v1", CancellationToken.None));
        Assert.Null(await client.RevisionShaAsync(Repo, "no-such-branch", CancellationToken.None));
    }

    [Fact]
    public async Task The_hub_refuses_a_stale_parent_an_LFS_file_never_uploaded_bytes_that_do_not_hash_to_their_oid_and_a_path_that_escapes()
    {
        var client = Client();
        await client.CreateRepoAsync(Repo, false, CancellationToken.None);
        var initial = await client.RevisionShaAsync(Repo, "main", CancellationToken.None);
        var a = await FileAsync("a.txt", "a"u8.ToArray());
        await client.CommitAsync(Repo, "main", "one", "", initial, [a], new HashSet<string>(), [], CancellationToken.None);

        var stale = await Assert.ThrowsAsync<HubException>(() => client.CommitAsync(Repo, "main", "two", "", initial, [a], new HashSet<string>(), [], CancellationToken.None));
        Assert.Equal(HttpStatusCode.Conflict, stale.Status);

        var missing = await FileAsync("w.safetensors", Random(300, 3));
        var never = await Assert.ThrowsAsync<HubException>(() => client.CommitAsync(Repo, "main", "two", "", null, [missing], new HashSet<string> { "w.safetensors" }, [], CancellationToken.None));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, never.Status);
        Assert.Contains("w.safetensors", never.Message);

        var liar = missing with { Sha256 = Convert.ToHexStringLower(SHA256.HashData("something else"u8)) };
        var wrong = await Assert.ThrowsAsync<HubException>(() => client.UploadLfsAsync(Repo, "main", [liar], CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        Assert.Contains("hash to", wrong.Message);

        var escape = await Assert.ThrowsAsync<HubException>(() => client.CommitAsync(Repo, "main", "two", "", null, [a with { PathInRepo = "../../x" }], new HashSet<string>(), [], CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadRequest, escape.Status);
        Assert.False(File.Exists(Path.Combine(_temp.Path, "x")));
    }

    [Fact]
    public async Task An_upload_that_died_after_some_objects_resumes_with_the_rest_only()
    {
        var client = Client();
        await client.CreateRepoAsync(Repo, false, CancellationToken.None);
        UploadFile[] files = [await FileAsync("a.safetensors", Random(3000, 4)), await FileAsync("b.safetensors", Random(150_000, 5)), await FileAsync("c.safetensors", Random(4000, 6))];

        // The connection drops for good on the second object's first part: the first object is stored, the rest is not.
        var dying = new DyingHandler(request => request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.Contains(files[1].Sha256, StringComparison.Ordinal));
        var died = new HubClient(new HttpClient(dying), new HubConnection(_server.Endpoint, Token), new HubClientOptions { MaxAttempts = 2 }, new RecordingTimeProvider(), NullLogger.Instance);
        await Assert.ThrowsAsync<HubException>(() => died.UploadLfsAsync(Repo, "main", files, CancellationToken.None));
        Assert.True(_server.Store.HasObject("acme/tiny", files[0].Sha256, files[0].Size));
        Assert.False(_server.Store.HasObject("acme/tiny", files[1].Sha256, files[1].Size));

        Assert.Equal(2, await client.UploadLfsAsync(Repo, "main", files, CancellationToken.None));
        Assert.All(files, f => Assert.True(_server.Store.HasObject("acme/tiny", f.Sha256, f.Size)));
    }

    [Theory]
    [InlineData(false, new[] { "3", "4", "5" })]
    [InlineData(true, new[] { "3", "4", "5", "1", "2", "3", "4", "5" })] // the hub refuses the journal's ETags: every part once more
    public async Task A_multipart_upload_that_died_part_way_resumes_sending_only_the_missing_parts(bool staleJournal, string[] expected)
    {
        var client = Client();
        await client.CreateRepoAsync(Repo, false, CancellationToken.None);
        var file = await FileAsync("w.safetensors", Random(150_000, 7)); // 5 parts of 32 KiB on this hub
        var journal = Path.Combine(_temp.Path, "parts");
        var options = new HubClientOptions { MaxAttempts = 2, PartJournal = journal };

        // The connection drops for good on part 3: parts 1 and 2 are stored and journaled.
        bool IsPart(HttpRequestMessage r, string part) => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith($"/{file.Sha256}/{file.Size}/{part}", StringComparison.Ordinal);
        var dying = new DyingHandler(r => IsPart(r, "3"));
        var died = new HubClient(new HttpClient(dying), new HubConnection(_server.Endpoint, Token), options, new RecordingTimeProvider(), NullLogger.Instance);
        await Assert.ThrowsAsync<HubException>(() => died.UploadLfsAsync(Repo, "main", [file], CancellationToken.None));
        Assert.False(_server.Store.HasObject("acme/tiny", file.Sha256, file.Size));
        var lines = File.ReadAllLines(Path.Combine(journal, file.Sha256 + ".parts.jsonl"));
        Assert.Equal(2, lines.Length);
        if (staleJournal)
        {
            File.WriteAllLines(Path.Combine(journal, file.Sha256 + ".parts.jsonl"), lines.Select(l => System.Text.RegularExpressions.Regex.Replace(l, "\"etag\":\"[^\"]*\"", "\"etag\":\"0000\"")));
        }

        var puts = new List<string>();
        var counting = new DyingHandler(r =>
        {
            if (r.Method == HttpMethod.Put)
            {
                puts.Add(r.RequestUri!.AbsolutePath[(r.RequestUri.AbsolutePath.LastIndexOf('/') + 1)..]);
            }

            return false;
        });
        var resumed = new HubClient(new HttpClient(counting), new HubConnection(_server.Endpoint, Token), options, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(1, await resumed.UploadLfsAsync(Repo, "main", [file], CancellationToken.None));

        Assert.Equal(expected, puts);
        Assert.True(_server.Store.HasObject("acme/tiny", file.Sha256, file.Size));
        Assert.False(File.Exists(Path.Combine(journal, file.Sha256 + ".parts.jsonl")));
    }

    [Fact]
    public async Task A_repository_another_process_is_writing_is_waited_for_and_then_refused_with_503()
    {
        var client = Client();
        await client.CreateRepoAsync(Repo, false, CancellationToken.None);
        // Another process serving the same folder: a second store over it, and its writer's lock held.
        var other = new HubStore(Path.Combine(_temp.Path, "hub"), TimeProvider.System, TimeSpan.Zero);
        using (new FileStream(Path.Combine(RepoDir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var locked = await Assert.ThrowsAsync<HubStoreException>(() => other.CommitAsync("acme/tiny", "main", "blocked", "", null, [new AddRegularFile("x.txt", [1])], CancellationToken.None));
            Assert.Equal(503, locked.Status);
        }

        var commit = await other.CommitAsync("acme/tiny", "main", "after", "", null, [new AddRegularFile("x.txt", [1])], CancellationToken.None);
        Assert.Equal(commit.Oid, await client.RevisionShaAsync(Repo, "main", CancellationToken.None));
    }

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_with_exponential_back_off_on_the_time_provider_and_Retry_After_wins()
    {
        var time = new RecordingTimeProvider();
        var faults = new FaultyHandler([(HttpStatusCode.ServiceUnavailable, null), (HttpStatusCode.TooManyRequests, null), (HttpStatusCode.BadGateway, null), (HttpStatusCode.TooManyRequests, 7)]);

        Assert.True(await Client(handler: faults, time: time).CreateRepoAsync(Repo, false, CancellationToken.None));

        Assert.Equal(5, faults.Calls);
        Assert.Equal([1.0, 2.0, 4.0, 7.0], time.Delays.Select(d => d.TotalSeconds));
        Assert.True(_server.Store.Exists("acme/tiny"));
    }

    [Fact]
    public async Task A_hub_that_keeps_failing_gives_up_after_the_last_attempt_naming_the_status()
    {
        var time = new RecordingTimeProvider();
        var faults = new FaultyHandler([.. Enumerable.Repeat<(HttpStatusCode, int?)>((HttpStatusCode.InternalServerError, null), 10)]);

        var error = await Assert.ThrowsAsync<HubException>(() => Client(handler: faults, time: time).CreateRepoAsync(Repo, false, CancellationToken.None));

        Assert.Equal(6, faults.Calls);
        Assert.Equal([1.0, 2.0, 4.0, 8.0, 16.0], time.Delays.Select(d => d.TotalSeconds));
        Assert.Contains("500", error.Message);
        Assert.Contains("after 6 attempts", error.Message);
    }

    [Fact]
    public async Task A_client_error_is_not_retried_and_the_token_never_appears_in_the_error_even_when_the_hub_echoes_it()
    {
        var echo = new EchoingHandler();
        var client = Client(token: "hf_secret_never_show_me", handler: echo);

        var error = await Assert.ThrowsAsync<HubException>(() => client.CreateRepoAsync(Repo, false, CancellationToken.None));

        Assert.Equal(1, echo.Calls);
        Assert.Equal(HttpStatusCode.Forbidden, error.Status);
        Assert.DoesNotContain("hf_secret_never_show_me", error.Message);
        Assert.Contains("***", error.Message);
        Assert.DoesNotContain("hf_secret_never_show_me", new HubConnection(_server.Endpoint, "hf_secret_never_show_me").ToString());
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_401()
    {
        var error = await Assert.ThrowsAsync<HubException>(() => Client(token: "hf_wrong").CreateRepoAsync(Repo, false, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.False(Directory.Exists(RepoDir));
    }

    private static string Pointer(UploadFile file) => HubStore.LfsPointer(file.Sha256, file.Size);

    /// <summary>git hash-object of a file, or of a text given in place of a path.</summary>
    private string GitHashObject(string pathOrText)
    {
        var path = pathOrText;
        if (!File.Exists(path))
        {
            path = Path.Combine(_temp.Path, "pointer-" + Guid.NewGuid().ToString("N"));
            File.WriteAllText(path, pathOrText);
        }

        var git = Process.Start(new ProcessStartInfo("git", ["hash-object", "--no-filters", path]) { RedirectStandardOutput = true })!;
        var output = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        return output;
    }

    /// <summary>Answers the given statuses first (one per request, with an optional Retry-After in seconds), then passes requests on to the real server.</summary>
    private sealed class FaultyHandler((HttpStatusCode Status, int? RetryAfter)[] faults) : DelegatingHandler(new HttpClientHandler())
    {
        public int Calls { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Calls++ < faults.Length)
            {
                var (status, retryAfter) = faults[Calls - 1];
                var response = new HttpResponseMessage(status) { Content = new StringContent("{\"error\": \"try later\"}") };
                if (retryAfter is { } seconds)
                {
                    response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
                }

                return response;
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Records every delay asked of it and lets it pass at once: the back-off is read off the clock, not waited out.</summary>
    private sealed class RecordingTimeProvider : TimeProvider
    {
        private readonly Lock _lock = new();
        private readonly List<TimeSpan> _delays = [];

        public IReadOnlyList<TimeSpan> Delays
        {
            get
            {
                lock (_lock)
                {
                    return [.. _delays];
                }
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _delays.Add(dueTime);
            }

            return System.CreateTimer(callback, state, TimeSpan.Zero, period);
        }
    }

    /// <summary>Passes requests to the real server, except those it is told to fail as a dropped connection would.</summary>
    private sealed class DyingHandler(Func<HttpRequestMessage, bool> dies) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            dies(request) ? throw new HttpRequestException("connection reset by peer") : base.SendAsync(request, cancellationToken);
    }

    /// <summary>A hub that puts the Authorization header it got into its error body.</summary>
    private sealed class EchoingHandler : HttpMessageHandler
    {
        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            var body = new JsonObject { ["error"] = $"token {request.Headers.Authorization} may not write here" };
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Forbidden) { Content = new StringContent(body.ToJsonString()) });
        }
    }
}
