using System.ComponentModel.DataAnnotations;

namespace Jiniac.Hosting;

public enum Topology
{
    /// <summary>One process: in-memory bus, localhost silo, folder blob store, local trainer.</summary>
    Embedded,
    /// <summary>One process per service: RabbitMQ bus (and, as they land, Redis-backed Orleans and Azure blobs).</summary>
    Distributed,
}

/// <summary>Bound from the "Jiniac" configuration section.</summary>
public sealed class JiniacOptions
{
    public const string Section = "Jiniac";

    public Topology Topology { get; set; } = Topology.Embedded;

    /// <summary>Where everything the platform keeps lives (grain state, blobs, journal, checkpoints, hub).</summary>
    [Required]
    public string StateDir { get; set; } = ".jiniac";

    /// <summary>RabbitMQ connection string (amqp://user:pass@host:port/vhost) for the distributed topology.</summary>
    public string? RabbitMq { get; set; }

    /// <summary>
    /// Per-queue override of how many messages an endpoint handles at once ("Jiniac:Concurrency:jiniac-tokenize": 4);
    /// a queue not named keeps the limit its service registered. On RabbitMQ the prefetch count follows it.
    /// </summary>
    public Dictionary<string, int> Concurrency { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Redis (host:port[,options], StackExchange.Redis syntax) for the orchestrator's Orleans cluster in the distributed topology.</summary>
    public string? Redis { get; set; }

    /// <summary>
    /// On RabbitMQ, how long a message that failed its in-process retries waits before each redelivery, comma-separated
    /// ("00:00:30,00:05:00,00:30:00", the default); after the last it lands in its {queue}_error. "none" (or empty): straight there.
    /// </summary>
    public string? Redelivery { get; set; } = "00:00:30,00:05:00,00:30:00";
}
