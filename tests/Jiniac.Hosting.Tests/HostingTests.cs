using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;
using Jiniac.Hosting.Bus;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting.Tests;

public sealed class HostingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_default_host_delivers_a_sent_command_to_its_services_consumer()
    {
        var builder = Builder();
        builder.Services.AddSingleton<Received<IngestSource>>();
        builder.Services.AddSingleton<Received<TokenizeShards>>();
        builder.Services.BusRegistry().AddEndpoint(Queues.Ingest, 2, typeof(IngestProbe));
        builder.Services.BusRegistry().AddEndpoint(Queues.Tokenize, 1, typeof(TokenizeProbe));
        builder.AddJiniacBus();
        using var host = builder.Build();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        await host.StartAsync(deadline.Token);
        try
        {
            var command = new IngestSource
            {
                RunId = "run-1",
                Stage = "ja-web",
                Attempt = 2,
                OutputPrefix = "runs/run-1/ja-web/web",
                Source = new SourceSpec { Name = "web", Paths = ["/data/ja/*.html"], Format = SourceFormat.Tree, Weight = 0.5 },
            };
            await host.Services.GetRequiredService<ICommandSender>().SendAsync(command, deadline.Token);

            var received = await host.Services.GetRequiredService<Received<IngestSource>>().Message.WaitAsync(deadline.Token);

            Assert.Equal((command.RunId, command.Stage, command.Attempt, command.OutputPrefix), (received.RunId, received.Stage, received.Attempt, received.OutputPrefix));
            Assert.Equal(command.Source.Name, received.Source.Name);
            Assert.Equal(command.Source.Paths, received.Source.Paths);
            Assert.Equal((SourceFormat.Tree, 0.5), (received.Source.Format, received.Source.Weight));
            Assert.False(host.Services.GetRequiredService<Received<TokenizeShards>>().Message.IsCompleted);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Sending_an_event_as_a_command_is_refused()
    {
        var builder = Builder();
        builder.AddJiniacBus();
        using var host = builder.Build();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await host.StartAsync(deadline.Token);
        try
        {
            var sender = host.Services.GetRequiredService<ICommandSender>();
            var e = await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(new AlertRaisedLike("x"), deadline.Token));
            Assert.Contains("is not a command of this platform", e.Message);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void The_defaults_register_options_state_paths_and_a_folder_blob_store_under_the_state_dir()
    {
        var builder = Builder();
        builder.AddJiniacBus();
        using var host = builder.Build();

        var paths = host.Services.GetRequiredService<StatePaths>();
        var store = Assert.IsType<FolderBlobStore>(host.Services.GetRequiredService<IBlobStore>());

        Assert.Equal(_folder.PathOf("state"), paths.Root);
        Assert.Equal(paths.Blobs, store.Root);
        Assert.True(Directory.Exists(paths.Blobs));
        Assert.Same(TimeProvider.System, host.Services.GetRequiredService<TimeProvider>());
        Assert.Same(builder.Services.BusRegistry(), host.Services.GetRequiredService<JiniacBusRegistry>());
    }

    [Fact]
    public void The_bus_registry_merges_consumers_of_one_queue()
    {
        var services = new ServiceCollection();
        services.BusRegistry().AddEndpoint(Queues.Tokenize, 4, typeof(TokenizeProbe));
        services.BusRegistry().AddEndpoint(Queues.Tokenize, 1, typeof(IngestProbe));
        services.BusRegistry().AddEndpoint(Queues.Ingest, 2, typeof(IngestProbe));

        var endpoints = services.BusRegistry().Endpoints.ToDictionary(e => e.Queue);

        Assert.Single(services, d => d.ServiceType == typeof(JiniacBusRegistry));
        Assert.Equal(2, endpoints.Count);
        Assert.Equal(4, endpoints[Queues.Tokenize].Concurrency);
        Assert.Equal([typeof(TokenizeProbe), typeof(IngestProbe)], endpoints[Queues.Tokenize].Consumers);
    }

    [Fact]
    public void The_distributed_topology_needs_a_rabbitmq_connection_string()
    {
        var builder = Builder(("Jiniac:Topology", "Distributed"));

        var e = Assert.Throws<OptionsValidationException>(() => builder.AddJiniacBus());
        Assert.Contains("Jiniac:RabbitMq", e.Message);
    }

    [Fact]
    public async Task An_empty_state_dir_stops_the_host_from_starting()
    {
        var builder = Builder(("Jiniac:StateDir", ""));
        builder.AddJiniacBus();
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(CancellationToken.None));
        Assert.Contains("StateDir", e.Message);
    }

    private HostApplicationBuilder Builder(params (string Key, string Value)[] settings) => TestHosts.JiniacBuilder(_folder, settings);
}

/// <summary>The first message of a type a probe consumer saw.</summary>
public sealed class Received<T>
{
    private readonly TaskCompletionSource<T> _message = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Message => _message.Task;

    public void Set(T message) => _message.TrySetResult(message);
}

public sealed class IngestProbe(Received<IngestSource> received) : IConsumer<IngestSource>
{
    public Task Consume(ConsumeContext<IngestSource> context)
    {
        received.Set(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class TokenizeProbe(Received<TokenizeShards> received) : IConsumer<TokenizeShards>
{
    public Task Consume(ConsumeContext<TokenizeShards> context)
    {
        received.Set(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>A message type of no service: sending it must fail before anything is sent.</summary>
public sealed record AlertRaisedLike(string Text);
