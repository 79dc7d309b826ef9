using Jiniac.Contracts;
using MassTransit;

namespace Jiniac.Hosting.Bus;

/// <summary>Sends a command to the one queue that owns it (<see cref="Queues.For"/>).</summary>
public interface ICommandSender
{
    Task SendAsync<T>(T command, CancellationToken cancellationToken) where T : class;
}

internal sealed class CommandSender(IBus bus) : ICommandSender
{
    public async Task SendAsync<T>(T command, CancellationToken cancellationToken) where T : class
    {
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{Queues.For(typeof(T))}"));
        await endpoint.Send(command, cancellationToken);
    }
}
