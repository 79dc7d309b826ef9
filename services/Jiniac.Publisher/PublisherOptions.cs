namespace Jiniac.Publisher;

/// <summary>Bound from the "Publisher" configuration section.</summary>
public sealed class PublisherOptions
{
    public const string Section = "Publisher";

    /// <summary>Hard-link model weights from the checkpoint instead of copying them (copies when the hub is on another disk).</summary>
    public bool LinkWeights { get; set; } = true;

    /// <summary>How long a publish waits for another publisher (another process) holding the same repository.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
