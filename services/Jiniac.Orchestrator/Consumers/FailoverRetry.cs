using MassTransit;

namespace Jiniac.Orchestrator.Consumers;

/// <summary>
/// Distributed topology: an event consumer's grain call fails while the silo hosting that grain has died and the
/// cluster has not yet moved its grains (a silo restarted on its port takes over in seconds; one that stays away, after
/// its missed heartbeats). The bus's own retries (under three seconds) end before that, and the event would go to the
/// error queue — the chaos test lost a TokenizerReady and two CheckpointSaved that way, and the run stalled. So Orleans'
/// transient failures are retried here, at the consumer, for about a minute and a half before the bus's policy takes
/// over. Half a minute was too short: a silo killed and restarted on a loaded machine took 25 s to be back, and the
/// events that had waited longest (five CheckpointSaved) were parked for redelivery while later ones went through.
/// </summary>
public sealed class FailoverRetryDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        consumerConfigurator.UseMessageRetry(FailoverRetry.Configure);
    }
}

public static class FailoverRetry
{
    /// <summary>Orleans' transient failures, retried for about 90 s (a silo failover, with room for a slow restart).</summary>
    public static void Configure(IRetryConfigurator r)
    {
        r.Handle<OrleansException>();
        r.Handle<TimeoutException>();
        r.Intervals(250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000);
    }
}
