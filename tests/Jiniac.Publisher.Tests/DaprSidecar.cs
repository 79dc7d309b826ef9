using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Jiniac.Publisher.Tests.DaprWire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jiniac.Publisher.Tests;

/// <summary>
/// A gRPC server on loopback that answers Dapr's runtime API GetSecret and PublishEvent (dapr.proto.runtime.v1.Dapr)
/// the way daprd does: an unknown store is InvalidArgument, a missing key is Internal, an unknown pub/sub component
/// InvalidArgument, each with daprd's message. No daprd exists on this machine, so this is what the Dapr secret and
/// pub/sub paths are verified against. A store named <see cref="SilentStore"/> never answers (for the deadline).
/// </summary>
internal sealed class DaprSidecar : IAsyncDisposable
{
    public const string SilentStore = "never-answers";
    private readonly WebApplication _app;

    private DaprSidecar(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    /// <summary>store -> key -> value.</summary>
    public ConcurrentDictionary<string, Dictionary<string, string>> Stores { get; } = new();

    /// <summary>Every (store, key) asked for, in order.</summary>
    public ConcurrentQueue<(string Store, string Key)> Requests { get; } = new();

    /// <summary>The pub/sub components this sidecar has (publishing to another is refused, as daprd does).</summary>
    public ConcurrentDictionary<string, bool> PubSubs { get; } = new();

    /// <summary>Every event accepted by PublishEvent, in order.</summary>
    public ConcurrentQueue<PublishedEvent> Published { get; } = new();

    /// <summary>How many of the next PublishEvent calls fail with Unavailable (a component that is down).</summary>
    public int FailPublishes;

    public sealed record PublishedEvent(string PubSub, string Topic, byte[] Data, string ContentType, IReadOnlyDictionary<string, string> Metadata);

    public static async Task<DaprSidecar> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<SecretsService>();
        var app = builder.Build();
        app.MapGrpcService<SecretsService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var sidecar = new DaprSidecar(app, new Uri(address));
        app.Services.GetRequiredService<SecretsService>().Sidecar = sidecar;
        return sidecar;
    }

    /// <summary>A loopback address nothing listens on: a sidecar that is not running.</summary>
    public static Uri Unreachable()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class SecretsService : DaprWire.Dapr.DaprBase
    {
        public DaprSidecar Sidecar { get; set; } = null!;

        public override async Task<GetSecretResponse> GetSecret(GetSecretRequest request, ServerCallContext context)
        {
            Sidecar.Requests.Enqueue((request.StoreName, request.Key));
            if (request.StoreName == SilentStore)
            {
                // A sidecar that accepted the call and hangs: only the client's deadline ends it.
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            if (!Sidecar.Stores.TryGetValue(request.StoreName, out var store))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"failed finding secret store with key {request.StoreName}"));
            }

            if (!store.TryGetValue(request.Key, out var value))
            {
                throw new RpcException(new Status(StatusCode.Internal,
                    $"failed getting secret with key {request.Key} from secret store {request.StoreName}: secret {request.Key} not found"));
            }

            return new GetSecretResponse { Data = { [request.Key] = value } };
        }

        public override Task<Google.Protobuf.WellKnownTypes.Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
        {
            if (!Sidecar.PubSubs.ContainsKey(request.PubsubName))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"pubsub {request.PubsubName} is not found"));
            }

            if (Interlocked.Decrement(ref Sidecar.FailPublishes) >= 0)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"error when publish to topic {request.Topic} in pubsub {request.PubsubName}: broker unavailable"));
            }

            Sidecar.Published.Enqueue(new PublishedEvent(request.PubsubName, request.Topic, request.Data.ToByteArray(), request.DataContentType,
                new Dictionary<string, string>(request.Metadata)));
            return Task.FromResult(new Google.Protobuf.WellKnownTypes.Empty());
        }
    }
}
