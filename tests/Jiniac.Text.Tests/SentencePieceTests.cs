using System.Globalization;
using Jiniac.Text.SentencePiece;

namespace Jiniac.Text.Tests;

/// <summary>
/// SentencePiece .model files trained here with spm_train (Debian sentencepiece 0.1.97) against spm_encode's ids
/// on every line of golden-lines.txt (TestData/README.md says how they were made).
/// </summary>
public sealed class SentencePieceTests
{
    [Theory]
    [InlineData("sp-unigram")] // unigram, nmt_nfkc, byte fallback
    [InlineData("sp-bpe")] // BPE, nmt_nfkc, unknown pieces
    [InlineData("sp-bpe-fallback")] // BPE, nmt_nfkc, byte fallback
    [InlineData("sp-unigram-raw")] // unigram, identity normaliser, no dummy prefix, whitespace kept, a user-defined <mask>
    public void Models_encode_like_spm_encode(string model)
    {
        var tokenizer = SentencePieceTokenizer.FromFile(TestFiles.Path($"{model}.model"));
        var lines = TestFiles.Text("golden-lines.txt").Split('\n')[..^1];
        var expected = TestFiles.Text($"golden-ids-{model}.txt").Split('\n')[..^1];
        Assert.Equal(lines.Length, expected.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var ids = string.Join(' ', tokenizer.Encode(lines[i]).Select(id => id.ToString(CultureInfo.InvariantCulture)));
            Assert.True(expected[i] == ids, $"line #{i} '{lines[i]}': [{ids}] vs spm_encode [{expected[i]}]");
        }
    }

    [Fact]
    public void End_of_document_is_the_eos_piece_and_text_decodes_back()
    {
        var tokenizer = SentencePieceTokenizer.FromFile(TestFiles.Path("sp-unigram.model"));
        Assert.Equal(2, tokenizer.EndOfDocumentId);
        Assert.Equal("日本語の文 and English", tokenizer.Decode(tokenizer.Encode("日本語の文 and English")));
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_refused_by_name()
    {
        var e = Assert.Throws<InvalidDataException>(() => SentencePieceTokenizer.FromBytes("{\"not\": \"protobuf\"}"u8, "x.model"));
        Assert.Contains("x.model", e.Message);
    }
}
