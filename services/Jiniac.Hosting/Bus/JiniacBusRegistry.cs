namespace Jiniac.Hosting.Bus;

/// <summary>
/// Collects each service's receive endpoints (queue + consumers) so that the bus is configured once,
/// by <see cref="HostingExtensions.AddJiniacBus"/>, after every AddXxxService() has run — in the
/// embedded host (all services) and in a service's own process (one) alike.
/// </summary>
public sealed class JiniacBusRegistry
{
    private readonly Dictionary<string, EndpointRegistration> _endpoints = new(StringComparer.Ordinal);

    public IReadOnlyCollection<EndpointRegistration> Endpoints => _endpoints.Values;

    public JiniacBusRegistry AddEndpoint(string queue, int concurrency, params Type[] consumers)
    {
        if (!_endpoints.TryGetValue(queue, out var endpoint))
        {
            endpoint = new EndpointRegistration(queue, concurrency);
            _endpoints.Add(queue, endpoint);
        }

        endpoint.Consumers.AddRange(consumers);
        return this;
    }
}

public sealed class EndpointRegistration(string queue, int concurrency)
{
    public string Queue { get; } = queue;

    /// <summary>How many messages this endpoint handles at once.</summary>
    public int Concurrency { get; } = concurrency;

    public List<Type> Consumers { get; } = [];
}
