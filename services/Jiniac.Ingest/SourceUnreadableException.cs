namespace Jiniac.Ingest;

/// <summary>The source as a whole cannot be read (a path that does not exist, nothing matched): the run cannot go on.</summary>
public sealed class SourceUnreadableException(string message, Exception? inner = null) : Exception(message, inner);
