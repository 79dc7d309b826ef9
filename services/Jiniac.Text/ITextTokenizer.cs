namespace Jiniac.Text;

/// <summary>What the tokenize stage needs of a tokenizer, whichever file it came from. Implementations are thread-safe.</summary>
public interface ITextTokenizer
{
    /// <summary>One more than the highest id: the embedding rows a model needs.</summary>
    int VocabSize { get; }

    /// <summary>The id appended after each document by --append-eod, or null when the tokenizer has none.</summary>
    int? EndOfDocumentId { get; }

    /// <summary>Appends the ids of <paramref name="text"/>, with no special tokens added around it.</summary>
    void Encode(string text, List<int> output);

    /// <summary>
    /// The ids HF's add_special_tokens puts before each text (the post-processor's template, e.g. Llama's BOS); empty
    /// for tokenizers without one (SentencePiece .model files, as spm_encode adds none; tiktoken).
    /// </summary>
    ReadOnlySpan<int> SpecialPrefix { get; }

    /// <summary>The ids add_special_tokens puts after each text (e.g. a template's EOS); usually empty.</summary>
    ReadOnlySpan<int> SpecialSuffix { get; }
}
