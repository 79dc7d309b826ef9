using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Orchestrator.Control;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Tests;

/// <summary>A host with API keys: the role split over real gRPC calls and plain HTTP requests, 401 and 403 paths.</summary>
public sealed class ControlAccessTests : IAsyncLifetime
{
    private const string ViewerKey = "view-3b1f0c9e2d";
    private const string OperatorKey = "oper-77aa41c0fe";
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-access-").FullName;
    private OrchestratorHost _host = null!;

    public async Task InitializeAsync()
    {
        var keysFile = Path.Combine(_dir, "keys.txt");
        await File.WriteAllTextAsync(keysFile, $"# name role sha256\nci-operator operator {ApiKeyRing.HashOf(OperatorKey)}\n");
        _host = await OrchestratorHost.StartAsync(Path.Combine(_dir, "state"), new Dictionary<string, string?>
        {
            ["Control:ApiKeys:dash-viewer:Hash"] = ApiKeyRing.HashOf(ViewerKey),
            ["Control:ApiKeys:dash-viewer:Role"] = "viewer",
            ["Control:ApiKeysFile"] = keysFile,
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Without_a_key_or_with_an_unknown_one_every_call_is_Unauthenticated()
    {
        foreach (var key in (string?[])[null, "not-a-key"])
        {
            using var channel = GrpcChannel.ForAddress(_host.ControlUrl);
            var client = Client(channel, key);
            var list = await Assert.ThrowsAsync<RpcException>(() => client.ListRunsAsync(new ListRunsRequest()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, list.StatusCode);
            var cancel = await Assert.ThrowsAsync<RpcException>(() => client.CancelRunAsync(new CancelRunRequest { RunId = "x" }).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, cancel.StatusCode);
        }

        using var http = Http();
        var response = await http.GetAsync(new Uri(_host.ControlUrl + "/dashboard"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task A_viewer_key_reads_but_may_not_write()
    {
        using var channel = GrpcChannel.ForAddress(_host.ControlUrl);
        var viewer = Client(channel, ViewerKey);
        await viewer.ListRunsAsync(new ListRunsRequest());
        var missing = await Assert.ThrowsAsync<RpcException>(() => viewer.GetRunAsync(new GetRunRequest { RunId = "no-such-run" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode); // admitted: the service itself answered

        foreach (var write in (Func<Task>[])[
            () => viewer.CancelRunAsync(new CancelRunRequest { RunId = "no-such-run" }).ResponseAsync,
            () => viewer.ReplayStageAsync(new ReplayStageRequest { RunId = "no-such-run", Stage = "en" }).ResponseAsync,
            () => viewer.ApproveStageAsync(new ApproveStageRequest { RunId = "no-such-run", Stage = "en" }).ResponseAsync,
            () => viewer.SubmitRunAsync(new SubmitRunRequest { PipelinePath = "/nowhere.yaml" }).ResponseAsync])
        {
            var denied = await Assert.ThrowsAsync<RpcException>(write);
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
            Assert.Contains("dash-viewer", denied.Status.Detail);
        }

        // Plain HTTP: a GET is a read whichever way the key comes; a POST is a write.
        using var http = Http();
        using (var bearer = new HttpRequestMessage(HttpMethod.Get, _host.ControlUrl + "/dashboard") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            bearer.Headers.Authorization = new("Bearer", ViewerKey);
            Admitted((await http.SendAsync(bearer)).StatusCode);
        }

        using (var header = new HttpRequestMessage(HttpMethod.Get, _host.ControlUrl + "/dashboard") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            header.Headers.Add("x-api-key", ViewerKey);
            Admitted((await http.SendAsync(header)).StatusCode);
        }

        var page = await http.GetAsync(new Uri($"{_host.ControlUrl}/dashboard?key={ViewerKey}"));
        Admitted(page.StatusCode);
        var post = await http.PostAsync(new Uri($"{_host.ControlUrl}/api/webhooks?key={ViewerKey}"), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);

        // A page opened with ?key= gets a cookie, so its assets load by plain URLs; the cookie never authorises a write.
        var cookie = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ControlAccessMiddleware.KeyCookie + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        using (var asset = new HttpRequestMessage(HttpMethod.Get, _host.ControlUrl + "/dashboard/dashboard.js") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            asset.Headers.Add("Cookie", $"{ControlAccessMiddleware.KeyCookie}={ViewerKey}");
            Admitted((await http.SendAsync(asset)).StatusCode);
        }

        using (var forged = new HttpRequestMessage(HttpMethod.Post, _host.ControlUrl + "/api/webhooks") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = new StringContent("{}") })
        {
            forged.Headers.Add("Cookie", $"{ControlAccessMiddleware.KeyCookie}={OperatorKey}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);
        }
    }

    [Fact]
    public async Task An_operator_key_from_the_keys_file_may_write()
    {
        using var channel = GrpcChannel.ForAddress(_host.ControlUrl);
        var operatorClient = Client(channel, OperatorKey);
        var missing = await Assert.ThrowsAsync<RpcException>(() => operatorClient.CancelRunAsync(new CancelRunRequest { RunId = "no-such-run" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode); // admitted: the service itself answered
        await operatorClient.ListRunsAsync(new ListRunsRequest());
    }

    [Theory]
    [InlineData("/jiniac.control.v1.ControlService/GetRun", true, ControlRole.Viewer)]
    [InlineData("/jiniac.control.v1.ControlService/ListRuns", true, ControlRole.Viewer)]
    [InlineData("/jiniac.control.v1.ControlService/WatchEvents", true, ControlRole.Viewer)]
    [InlineData("/jiniac.webhooks.v1.WebhookService/ListSubscriptions", true, ControlRole.Viewer)]
    [InlineData("/jiniac.control.v1.ControlService/ReplayStage", true, ControlRole.Operator)]
    [InlineData("/jiniac.webhooks.v1.WebhookService/Subscribe", true, ControlRole.Operator)]
    public void The_rule_is_the_method_name(string path, bool grpc, ControlRole role) =>
        Assert.Equal(role, ControlAccessMiddleware.RequiredRole("POST", new PathString(path), grpc));

    [Fact]
    public void Keys_that_cannot_work_and_an_open_address_without_keys_are_refused_at_start()
    {
        var validation = new ControlOptionsValidation();
        var open = validation.Validate(null, new ControlOptions { Url = "http://0.0.0.0:5000" });
        Assert.Contains("Control:Url", open.FailureMessage);
        Assert.True(validation.Validate(null, new ControlOptions { Url = "http://127.0.0.1:5000" }).Succeeded);
        var guarded = new ControlOptions { Url = "http://0.0.0.0:5000" };
        guarded.ApiKeys["ops"] = new ApiKeyEntry { Hash = ApiKeyRing.HashOf("k"), Role = "operator" };
        Assert.True(validation.Validate(null, guarded).Succeeded);
        Assert.True(validation.Validate(null, new ControlOptions { Url = "http://0.0.0.0:5000", AllowUnauthenticated = true }).Succeeded);

        var badRole = new ControlOptions();
        badRole.ApiKeys["ops"] = new ApiKeyEntry { Hash = ApiKeyRing.HashOf("k"), Role = "admin" };
        Assert.Contains("Control:ApiKeys:ops: role 'admin'", validation.Validate(null, badRole).FailureMessage);
        var badHash = new ControlOptions();
        badHash.ApiKeys["ops"] = new ApiKeyEntry { Hash = "plaintext-key", Role = "viewer" };
        Assert.Contains("Control:ApiKeys:ops: the hash", validation.Validate(null, badHash).FailureMessage);

        var file = Path.Combine(_dir, "bad-keys.txt");
        File.WriteAllText(file, "ok viewer " + ApiKeyRing.HashOf("a") + "\nbroken line\n");
        Assert.Contains($"{file}:2:", validation.Validate(null, new ControlOptions { ApiKeysFile = file }).FailureMessage);
        Assert.Throws<OptionsValidationException>(() => new ApiKeyRing(Options.Create(new ControlOptions { ApiKeysFile = file })));
    }

    /// <summary>
    /// Past the access check: the request reached routing. The dashboard's routes answer on this listener too (a 302 to
    /// "/dashboard/", or the page); a refusal would be 401/403. No redirect is followed: it would drop the key header.
    /// </summary>
    private static void Admitted(HttpStatusCode status) =>
        Assert.True(status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"refused with {(int)status} {status}");

    private static G.ControlService.ControlServiceClient Client(GrpcChannel channel, string? key) =>
        new(key is null ? channel.CreateCallInvoker() : channel.Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + key);
            return metadata;
        }));

    // No cookie jar: each request carries exactly the credentials the test gives it.
    private static HttpClient Http() => new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };
}
