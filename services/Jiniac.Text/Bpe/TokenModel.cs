namespace Jiniac.Text.Bpe;

/// <summary>The model of a tokenizer.json (HF models/*): turns one pre-token into ids.</summary>
internal abstract class TokenModel
{
    public abstract IReadOnlyDictionary<string, int> Vocab { get; }

    public abstract bool TryGetId(ReadOnlySpan<char> token, out int id);

    /// <summary>Appends the ids of one pre-token (non-empty).</summary>
    public abstract void EncodePiece(ReadOnlySpan<char> piece, List<int> output);
}
