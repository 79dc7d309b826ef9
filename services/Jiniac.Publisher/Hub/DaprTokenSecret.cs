using Dapr;
using Dapr.Client;
using Grpc.Core;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Publisher.Hub;

/// <summary>
/// Reads the hub token from a Dapr secret store through the sidecar's gRPC API (Dapr.Client's GetSecret).
/// The sidecar's address is Publisher:DaprGrpcEndpoint, else Dapr's standard DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT
/// (DaprClientBuilder reads them). Errors name the store and key and never carry the secret; the call has a
/// deadline so a sidecar that accepts the connection but never answers cannot hang a publish.
/// </summary>
internal static class DaprTokenSecret
{
    public static async Task<string> ReadAsync(DaprSecretSpec secret, PublisherOptions options, CancellationToken cancellationToken)
    {
        var (store, key) = (secret.Store, secret.Key);
        var where = options.DaprGrpcEndpoint is { } endpoint ? $"the Dapr sidecar at {endpoint}" : "the Dapr sidecar (DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT)";
        var what = $"Dapr secret store '{store}' key '{key}'";
        var builder = new DaprClientBuilder();
        if (options.DaprGrpcEndpoint is not null)
        {
            builder.UseGrpcEndpoint(options.DaprGrpcEndpoint);
        }

        using var client = builder.Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.TokenSecretTimeout);
        Dictionary<string, string> data;
        try
        {
            data = await client.GetSecretAsync(store, key, cancellationToken: deadline.Token);
        }
        catch (Exception e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested && e is OperationCanceledException or DaprException or RpcException)
        {
            throw new PublishException($"{what}: no answer from {where} within {options.TokenSecretTimeout}");
        }
        catch (DaprException e) when (e.InnerException is RpcException rpc)
        {
            // The status detail is the sidecar's own message (store or key not found, sidecar unreachable); it holds no secret.
            throw new PublishException($"{what}: {where} answered {rpc.StatusCode}: {rpc.Status.Detail}");
        }

        // A store returns the key's value under the key itself; some (e.g. a multi-valued file store) return one other entry.
        var token = data.TryGetValue(key, out var value) ? value : data.Count == 1 ? data.Values.Single() : null;
        return token?.Trim() is { Length: > 0 } trimmed ? trimmed : throw new PublishException($"{what} has no value (from {where})");
    }
}
