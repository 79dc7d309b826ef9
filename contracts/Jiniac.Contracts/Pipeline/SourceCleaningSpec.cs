namespace Jiniac.Contracts.Pipeline;

/// <summary>
/// A source's cleaning rules (pipeline key <c>cleaning:</c>). Each rule is counted in the ingest report
/// under its own name. Defaults keep ordinary prose and documentation and drop what Gopher/datatrove
/// would call degenerate text.
/// </summary>
public sealed record CleaningSpec
{
    /// <summary>Runs of spaces/tabs inside a line become one space; leading spaces are kept (indentation).</summary>
    public bool Whitespace { get; init; } = true;
    /// <summary>Drops breadcrumb, menu, navigation and cookie/copyright footer lines (Japanese and English).</summary>
    public bool Boilerplate { get; init; } = true;
    public bool StripUrls { get; init; }
    /// <summary>Removes e-mail addresses outright (PII redaction replaces them with a token instead).</summary>
    public bool StripEmails { get; init; }
    /// <summary>Documents longer than this (characters, after cleaning) are dropped; 0 = no bound.</summary>
    public int MaxChars { get; init; } = 1_000_000;
    /// <summary>Languages to keep (ja, en, other); empty = keep all. Language is told by script statistics.</summary>
    public IReadOnlyList<string> Languages { get; init; } = [];
    /// <summary>Minimum share of Japanese script (kana, kanji) among letters; 0 = off.</summary>
    public double MinJapaneseRatio { get; init; }
    /// <summary>Maximum share of symbol characters among non-space characters; 1 = off.</summary>
    public double MaxSymbolRatio { get; init; } = 0.3;
    /// <summary>Maximum share of digits among non-space characters; 1 = off.</summary>
    public double MaxDigitRatio { get; init; } = 0.5;
    /// <summary>Gopher repetition filters (Rae et al. 2021, thresholds as in datatrove).</summary>
    public bool Repetition { get; init; } = true;
}

/// <summary>PII redaction (pipeline key <c>pii:</c>): matches become replacement tokens such as &lt;EMAIL&gt;.</summary>
public sealed record PiiSpec
{
    public bool Redact { get; init; } = true;
    /// <summary>Kinds to redact: email, phone, mynumber, card, ip.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = ["email", "phone", "mynumber", "card", "ip"];
}

/// <summary>De-duplication (pipeline key <c>dedup:</c>): exact by content hash and near by MinHash + LSH, across the whole stage.</summary>
public sealed record DedupSpec
{
    public bool Exact { get; init; } = true;
    public bool Near { get; init; } = true;
    /// <summary>Tokens per shingle (words; a kana/kanji character is one token).</summary>
    public int Shingle { get; init; } = 5;
    /// <summary>LSH bands; permutations = bands × rows.</summary>
    public int Bands { get; init; } = 14;
    public int Rows { get; init; } = 8;
}
