using System.ComponentModel.DataAnnotations;

namespace Jiniac.Orchestrator;

/// <summary>Bound from "Orchestrator".</summary>
public sealed class OrchestratorOptions
{
    public const string Section = "Orchestrator";

    /// <summary>Re-issue a stage's outstanding commands when nothing was heard from its workers for this long.</summary>
    public TimeSpan ReissueAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an active stage checks whether it has gone quiet (Orleans reminders tick at most once a minute).</summary>
    public TimeSpan ReissueCheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Off for read-only hosts (`jiniac status` with no live host): they look, they never send.</summary>
    public bool IssueWork { get; set; } = true;

    /// <summary>Distributed topology: the address this silo advertises to the others (and listens on).</summary>
    public string SiloAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Distributed topology: silo-to-silo port. Fixed per node: a silo restarted on the same port replaces its dead
    /// former self at once, on another port the cluster waits for the old one's heartbeat to go stale (RECIPES.md).
    /// </summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Distributed topology: the port Orleans clients connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Distributed topology: the cluster the silos of one deployment form (their membership rows in Redis).</summary>
    public string ClusterId { get; set; } = "jiniac";

    /// <summary>
    /// Distributed topology: the deployment whose grain state and reminders these silos own in Redis. Kept across
    /// cluster restarts (a new cluster takes over the runs and their reminders); two deployments sharing one Redis
    /// need two ids, or each wakes the other's runs.
    /// </summary>
    public string ServiceId { get; set; } = "jiniac";

    /// <summary>
    /// Most shards in one TokenizeShards command. Under load the orchestrator gets shard events by the hundred; this many of
    /// a stage's new shards go to one tokenizer together, so a stage of 100,000 small shards is not 100,000 commands.
    /// </summary>
    [Range(1, 100_000)]
    public int TokenizeBatchShards { get; set; } = 256;

    /// <summary>
    /// Most bytes of text in one TokenizeShards command (a shard at or above it goes alone). The default is 16 of ingest's
    /// default 4 MiB shards: a second or two of one tokenizer's time, so the work still spreads over many tokenizers.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long TokenizeBatchBytes { get; set; } = 64L * 1024 * 1024;
}
