using System.ComponentModel.DataAnnotations;

namespace Jiniac.Ingest;

/// <summary>Bound from the "Ingest" configuration section.</summary>
public sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>How many sources this process ingests at once (each one runs on one core).</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 2;

    /// <summary>Where shards and the quarantine are built before they are stored; null = the state folder's tmp/.</summary>
    public string? TempDir { get; set; }

    /// <summary>A single record (a jsonl line or a document file) larger than this is quarantined rather than read.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxRecordBytes { get; set; } = 64 * 1024 * 1024;
}
