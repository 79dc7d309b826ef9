using Jiniac.Contracts;

namespace Jiniac.Ingest;

/// <summary>What one ingest of a source produced. Every count is also in the report blob.</summary>
public sealed record IngestResult
{
    public required string Source { get; init; }
    /// <summary>All shards, train and eval, in the order they were stored.</summary>
    public required IReadOnlyList<IngestedShard> Shards { get; init; }
    public required int Files { get; init; }
    /// <summary>Records read: non-empty jsonl lines and document files.</summary>
    public required long RecordsIn { get; init; }
    /// <summary>Documents written to shards (train + eval).</summary>
    public required long RecordsOut { get; init; }
    public required long TrainRecords { get; init; }
    public required long EvalRecords { get; init; }
    public required long Duplicates { get; init; }
    /// <summary>Documents dropped by a rule, by rule (<see cref="Output.DropReasons"/>).</summary>
    public required IReadOnlyDictionary<string, long> Dropped { get; init; }
    /// <summary>Quarantine entries (records, plus file-level entries such as a truncated gzip).</summary>
    public required long Quarantined { get; init; }
    public required IReadOnlyDictionary<string, long> QuarantineReasons { get; init; }
    /// <summary>Blob key of the quarantine, or null when nothing was quarantined.</summary>
    public string? QuarantineBlob { get; init; }
    /// <summary>Bytes of the input files as stored (compressed for .gz).</summary>
    public required long BytesIn { get; init; }
    /// <summary>Bytes of the shards written.</summary>
    public required long BytesOut { get; init; }
    /// <summary>UTF-8 bytes of the documents' text in the shards.</summary>
    public required long TextBytesOut { get; init; }
    public required string ReportBlob { get; init; }
    /// <summary>Near duplicates dropped (MinHash LSH), apart from the exact <see cref="Duplicates"/>.</summary>
    public long NearDuplicates { get; init; }
    /// <summary>PII replaced, by kind.</summary>
    public IReadOnlyDictionary<string, long> PiiHits { get; init; } = new SortedDictionary<string, long>();
    /// <summary>What the rewriting rules changed (boilerplate lines, URLs, e-mails, whitespace).</summary>
    public IReadOnlyDictionary<string, long> Modified { get; init; } = new SortedDictionary<string, long>();
    /// <summary>Kept documents by language.</summary>
    public IReadOnlyDictionary<string, long> Languages { get; init; } = new SortedDictionary<string, long>();
    /// <summary>Records (of <see cref="RecordsIn"/>) that were quarantined: RecordsIn = RecordsOut + dropped + duplicates + near duplicates + this.</summary>
    public long QuarantinedRecords { get; init; }
    /// <summary>This source's dedup index, which later sources of the stage load.</summary>
    public string? DedupIndexBlob { get; init; }
}
