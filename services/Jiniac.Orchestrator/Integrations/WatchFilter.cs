using Grpc.Core;
using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>WatchEvents' types filter: null (every type) when empty; an unknown name is refused rather than silently matching nothing.</summary>
internal static class WatchFilter
{
    public static IReadOnlySet<string>? Types(IEnumerable<string> requested)
    {
        var types = new HashSet<string>(requested, StringComparer.Ordinal);
        if (types.Count == 0)
        {
            return null;
        }

        var unknown = types.Where(t => !EventTypes.All.Contains(t)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"types: {string.Join(", ", unknown.Select(t => $"'{t}'"))} {(unknown.Count == 1 ? "is not an event type" : "are not event types")}"));
        }

        return types;
    }
}
