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
}
