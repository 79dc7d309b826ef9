using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Jiniac.Publisher.Tests;

/// <summary>
/// The hub token from a Dapr secret store (Publisher:TokenSecretStore/TokenSecretKey) through Dapr.Client, against
/// <see cref="DaprSidecar"/>: a real gRPC server speaking Dapr's GetSecret, since no daprd exists here. Each case
/// runs its own host, because the secret store is host configuration.
/// </summary>
public sealed partial class PublisherTests
{
    private const string DaprStore = "hub-secrets";
    private const string DaprKey = "hf-token";

    /// <summary>A publisher host whose hub token comes from the Dapr sidecar at <paramref name="sidecar"/>.</summary>
    private async Task<ServiceHost> DaprHostAsync(Uri hub, Uri sidecar, string? store, string? key, string? timeout = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Publisher:Endpoint"] = hub.ToString(),
            ["Publisher:TokenSecretStore"] = store,
            ["Publisher:TokenSecretKey"] = key,
            ["Publisher:DaprGrpcEndpoint"] = sidecar.ToString(),
        };
        if (timeout is not null)
        {
            settings["Publisher:TokenSecretTimeout"] = timeout;
        }

        var host = await ServiceHost.StartAsync(Path.Combine(_temp.Path, "dapr-" + Guid.NewGuid().ToString("N")), settings, b =>
        {
            b.AddPublisherService();
            b.Logging.AddProvider(_logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        }, typeof(ModelPublished), typeof(PublishFailed));
        await using (var tokenizer = await _host.Blobs.OpenReadAsync(TokenizerKey, CancellationToken.None))
        {
            await host.Blobs.PutAsync(TokenizerKey, tokenizer, CancellationToken.None);
        }

        return host;
    }

    private static async Task<T> PublishAsync<T>(ServiceHost host, PublishModel command) where T : class
    {
        var before = host.Events.All.Count;
        await host.Sender.SendAsync(command, CancellationToken.None);
        await host.Events.WaitForAsync<object>(_ => host.Events.All.Count > before);
        return Assert.IsType<T>(host.Events.All[before]);
    }

    [Fact]
    public async Task With_a_Dapr_secret_store_the_token_comes_from_the_sidecar_and_is_in_no_log_event_or_file()
    {
        const string secret = "hf_dapr_secret_do_not_leak_2718";
        await using var sidecar = await DaprSidecar.StartAsync();
        sidecar.Stores[DaprStore] = new Dictionary<string, string> { [DaprKey] = secret + "\n", ["other"] = "hf_not_this_one" };
        await using var remote = await TestHubs.StartAsync(Path.Combine(_temp.Path, "remote"), secret, 16 * 1024);
        await using var host = await DaprHostAsync(remote.Endpoint, sidecar.Endpoint, DaprStore, DaprKey);

        var published = await PublishAsync<ModelPublished>(host, Command(40, hub: null));

        // The hub refuses any other token (401), so this commit proves the sidecar's value was sent.
        Assert.True(published.Created);
        Assert.Equal(published.Revision, remote.Store.Resolve("jiniac/tiny-llama", "main"));
        Assert.Equal([(DaprStore, DaprKey)], sidecar.Requests);
        foreach (var root in new[] { host.Paths.Root, Path.Combine(_temp.Path, "remote") })
        {
            Assert.DoesNotContain(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(_logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(host.Events.All, e => JsonSerializer.Serialize(e, e.GetType()).Contains(secret, StringComparison.Ordinal));
        Assert.Contains(_logs.Lines, l => l.Contains("Committed jiniac/tiny-llama", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_pipeline_token_secret_comes_before_the_hosts_secret_store()
    {
        const string secret = "hf_dapr_pipeline_secret_do_not_leak_1414";
        await using var sidecar = await DaprSidecar.StartAsync();
        sidecar.Stores["pipeline-store"] = new Dictionary<string, string> { ["hub/token"] = secret };
        await using var remote = await TestHubs.StartAsync(Path.Combine(_temp.Path, "remote"), secret, 16 * 1024);
        // The host's own source (Publisher:TokenSecretStore) names a key that does not exist: used, it would fail the publish.
        await using var host = await DaprHostAsync(remote.Endpoint, sidecar.Endpoint, DaprStore, "not-this-one");
        var command = Command(40, hub: null);

        var published = await PublishAsync<ModelPublished>(host, command with
        {
            Target = command.Target with { TokenSecret = new DaprSecretSpec { Store = "pipeline-store", Key = "hub/token" } },
        });

        Assert.Equal(published.Revision, remote.Store.Resolve("jiniac/tiny-llama", "main"));
        Assert.Equal([("pipeline-store", "hub/token")], sidecar.Requests);
        Assert.DoesNotContain(_logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(host.Events.All, e => JsonSerializer.Serialize(e, e.GetType()).Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateFiles(host.Paths.Root, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_secret_or_store_fails_the_publish_naming_the_store_and_key_and_not_the_token()
    {
        const string secret = "hf_dapr_present_but_other_key_1618";
        await using var sidecar = await DaprSidecar.StartAsync();
        sidecar.Stores[DaprStore] = new Dictionary<string, string> { [DaprKey] = secret };
        await using var remote = await TestHubs.StartAsync(Path.Combine(_temp.Path, "remote"), secret, 16 * 1024);

        await using (var host = await DaprHostAsync(remote.Endpoint, sidecar.Endpoint, DaprStore, "no-such-key"))
        {
            var failed = await PublishAsync<PublishFailed>(host, Command(40, hub: null));
            Assert.Equal($"Dapr secret store '{DaprStore}' key 'no-such-key': the Dapr sidecar at {sidecar.Endpoint} answered Internal: "
                + $"failed getting secret with key no-such-key from secret store {DaprStore}: secret no-such-key not found", failed.Reason);
        }

        await using (var host = await DaprHostAsync(remote.Endpoint, sidecar.Endpoint, "no-such-store", DaprKey))
        {
            var failed = await PublishAsync<PublishFailed>(host, Command(41, hub: null));
            Assert.StartsWith($"Dapr secret store 'no-such-store' key '{DaprKey}': the Dapr sidecar at {sidecar.Endpoint} answered InvalidArgument: ", failed.Reason);
        }

        // The token is resolved before anything reaches the hub: not even the repository was created.
        Assert.Throws<Jiniac.HubServer.HubStoreException>(() => remote.Store.Resolve("jiniac/tiny-llama", "main"));
        Assert.DoesNotContain(_logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_or_silent_sidecar_fails_the_publish_naming_the_store_and_key()
    {
        await using var remote = await TestHubs.StartAsync(Path.Combine(_temp.Path, "remote"), "hf_unused", 16 * 1024);
        var nobody = DaprSidecar.Unreachable();
        await using (var host = await DaprHostAsync(remote.Endpoint, nobody, DaprStore, DaprKey))
        {
            var failed = await PublishAsync<PublishFailed>(host, Command(40, hub: null));
            Assert.StartsWith($"Dapr secret store '{DaprStore}' key '{DaprKey}': the Dapr sidecar at {nobody} answered Unavailable: ", failed.Reason);
        }

        // A sidecar that takes the call and never answers: the deadline ends it, not the test's patience.
        await using var sidecar = await DaprSidecar.StartAsync();
        await using (var host = await DaprHostAsync(remote.Endpoint, sidecar.Endpoint, DaprSidecar.SilentStore, DaprKey, timeout: "00:00:01"))
        {
            var failed = await PublishAsync<PublishFailed>(host, Command(41, hub: null));
            Assert.Equal($"Dapr secret store '{DaprSidecar.SilentStore}' key '{DaprKey}': no answer from the Dapr sidecar at {sidecar.Endpoint} within 00:00:01", failed.Reason);
        }
    }
}
