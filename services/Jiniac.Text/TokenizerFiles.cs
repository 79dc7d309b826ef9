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
    public static ITextTokenizer Load(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>Loads the bytes of a tokenizer file whose kind <paramref name="name"/> (a path or blob key) tells.</summary>
    public static ITextTokenizer Load(byte[] bytes, string name)
    {
        switch (Suffix(name))
        {
            case ".model":
                return SentencePieceTokenizer.FromBytes(bytes, name);
            case ".json":
                return BpeTokenizer.FromJson(bytes);
            case var tiktoken:
                var (pattern, specials) = TiktokenFile.Encoding(tiktoken[1..^".tiktoken".Length]);
                return TiktokenFile.Load(bytes, pattern, specials, name);
        }
    }

    /// <summary>
    /// What a stored copy of the file must end with to be loaded the same way: ".model", ".NAME.tiktoken" (the encoding
    /// is part of what the file means), else ".json".
    /// </summary>
    /// <exception cref="UnsupportedTokenizerException">a .tiktoken file not named after a known encoding.</exception>
    public static string Suffix(string name)
    {
        var file = Path.GetFileName(name);
        if (file.EndsWith(".model", StringComparison.OrdinalIgnoreCase))
        {
            return ".model";
        }

        if (!file.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase))
        {
            return ".json";
        }

        // A stored copy is "<sha256>.NAME.tiktoken"; a given file is "NAME.tiktoken".
        var stem = file[..^".tiktoken".Length];
        var encoding = stem.Contains('.', StringComparison.Ordinal) ? stem[(stem.LastIndexOf('.') + 1)..] : stem;
        try
        {
            _ = TiktokenFile.Encoding(encoding);
        }
        catch (UnsupportedTokenizerException)
        {
            throw new UnsupportedTokenizerException($"{name}: a .tiktoken file carries no split pattern; name it after its encoding (o200k_base.tiktoken, cl100k_base.tiktoken, p50k_base.tiktoken, r50k_base.tiktoken)");
        }

        return $".{encoding}.tiktoken";
    }
}
