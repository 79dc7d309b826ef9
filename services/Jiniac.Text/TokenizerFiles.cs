using Jiniac.Text.Bpe;
using Jiniac.Text.SentencePiece;

namespace Jiniac.Text;

/// <summary>Opens a tokenizer file by its kind: a HF tokenizer.json, a SentencePiece .model, or a tiktoken vocabulary.</summary>
public static class TokenizerFiles
{
    /// <summary>
    /// <c>*.model</c>: SentencePiece ModelProto; <c>NAME.tiktoken</c>: tiktoken ranks, with the pattern and special tokens
    /// of encoding NAME (o200k_base, cl100k_base, p50k_base, r50k_base); anything else: tokenizer.json.
    /// </summary>
    public static ITextTokenizer Load(string path)
    {
        if (path.EndsWith(".model", StringComparison.OrdinalIgnoreCase))
        {
            return SentencePieceTokenizer.FromFile(path);
        }

        if (path.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase))
        {
            var encoding = Path.GetFileName(path)[..^".tiktoken".Length];
            try
            {
                return TiktokenFile.Load(path, encoding);
            }
            catch (UnsupportedTokenizerException e) when (e.Message.Contains("is not known", StringComparison.Ordinal))
            {
                throw new UnsupportedTokenizerException($"{path}: a .tiktoken file carries no split pattern; name it after its encoding (o200k_base.tiktoken, cl100k_base.tiktoken, p50k_base.tiktoken, r50k_base.tiktoken)");
            }
        }

        return BpeTokenizer.FromFile(path);
    }
}
