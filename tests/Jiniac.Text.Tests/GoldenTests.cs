using System.Text.Json.Nodes;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

/// <summary>Ids compared with those Hugging Face tokenizers 0.23.2 produced (TestData/README.md says how).</summary>
public sealed class GoldenTests
{
    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in JsonNode.Parse(TestFiles.Text("variants.json"))!.AsObject())
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Trained_tokenizer_variants_encode_like_hf(string variant)
    {
        var patch = JsonNode.Parse(TestFiles.Text("variants.json"))![variant]!.AsObject();
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Variant(TestFiles.Bytes("trained-1000.json"), patch));
        AssertGolden(tokenizer, TestFiles.GoldenIds("golden-ids-trained-1000.json")[variant]);
    }

    [Fact]
    public void Gpt4o_encodes_like_hf()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson());
        AssertGolden(tokenizer, TestFiles.GoldenIds("golden-ids-gpt4o.json")["gpt4o"]);
        Assert.Equal(199999, tokenizer.EndOfDocumentId);
    }

    [Fact]
    public void Gpt4o_round_trips_mixed_text()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Gpt4oJson());
        foreach (var text in TestFiles.GoldenTexts())
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    private static void AssertGolden(BpeTokenizer tokenizer, int[][] expected)
    {
        var texts = TestFiles.GoldenTexts();
        Assert.Equal(texts.Length, expected.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            // Twice: the second pass is served from the pre-token cache.
            Assert.True(expected[i].AsSpan().SequenceEqual(tokenizer.Encode(texts[i])), $"text #{i} differs on the first pass");
            Assert.True(expected[i].AsSpan().SequenceEqual(tokenizer.Encode(texts[i])), $"text #{i} differs on the cached pass");
        }
    }
}
