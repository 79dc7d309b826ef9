using System.Text;
using System.Text.Json;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

/// <summary>
/// .tiktoken vocabularies against npm tiktoken@1.0.22: the first 4,000 ranks of cl100k_base and o200k_base, with the
/// golden ids tiktoken produced from those same trimmed files (TestData/README.md says how).
/// </summary>
public sealed class TiktokenTests
{
    [Theory]
    [InlineData("cl100k_base", "cl100k-4000")]
    [InlineData("o200k_base", "o200k-4000")]
    public void Trimmed_encodings_encode_like_tiktoken(string encoding, string name)
    {
        var tokenizer = TiktokenFile.Load(TestFiles.Path($"{name}.tiktoken"), encoding);
        var expected = JsonSerializer.Deserialize<Dictionary<string, int[][]>>(TestFiles.Text($"golden-ids-{name}.json"))!["ids"];
        var texts = TestFiles.GoldenTexts();
        Assert.Equal(texts.Length, expected.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            var ids = tokenizer.Encode(texts[i]);
            Assert.True(expected[i].AsSpan().SequenceEqual(ids), $"text #{i}: [{string.Join(',', ids)}] vs tiktoken [{string.Join(',', expected[i])}]");
            Assert.Equal(texts[i], tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void End_of_document_is_the_encodings_endoftext()
    {
        var tokenizer = TiktokenFile.Load(TestFiles.Path("cl100k-4000.tiktoken"), "cl100k_base");
        Assert.Equal(100257, tokenizer.EndOfDocumentId);
    }

    [Fact]
    public void Bad_files_are_refused_with_the_line()
    {
        var (pattern, specials) = TiktokenFile.Encoding("cl100k_base");
        var lines = File.ReadAllText(TestFiles.Path("cl100k-4000.tiktoken")).Split('\n');
        lines[2] = "Iw==";
        var e = Assert.Throws<UnsupportedTokenizerException>(() => TiktokenFile.Load(Encoding.ASCII.GetBytes(string.Join('\n', lines)), pattern, specials, "x.tiktoken"));
        Assert.Contains("x.tiktoken:3:", e.Message);

        // Without the byte 'A' (rank 32) some text has no encoding.
        var withoutA = string.Join('\n', File.ReadAllText(TestFiles.Path("cl100k-4000.tiktoken")).Split('\n').Where(l => !l.StartsWith("QQ== ", StringComparison.Ordinal)));
        e = Assert.Throws<UnsupportedTokenizerException>(() => TiktokenFile.Load(Encoding.ASCII.GetBytes(withoutA), pattern, specials, "x.tiktoken"));
        Assert.Contains("1 of the 256 single bytes", e.Message);
        Assert.Throws<UnsupportedTokenizerException>(() => TiktokenFile.Encoding("p99k"));
    }
}
