namespace Jiniac.Text.Bpe;

/// <summary>
/// The tokenizer file uses a component (or setting) this engine does not implement exactly, so it refuses rather than
/// produce different ids. A NotSupportedException, so callers that report those (the CLI) report it plainly.
/// </summary>
public sealed class UnsupportedTokenizerException(string message) : NotSupportedException(message);
