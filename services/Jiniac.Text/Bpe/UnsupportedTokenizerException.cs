namespace Jiniac.Text.Bpe;

/// <summary>The tokenizer.json uses a component (or setting) this engine does not implement exactly, so it refuses rather than produce different ids.</summary>
public sealed class UnsupportedTokenizerException(string message) : Exception(message);
