using System.Text.Json.Nodes;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

/// <summary>
/// Unigram training: deterministic to the byte (the committed unigram-trained-1000.json), and the tokenizer.json it
/// writes encodes in HF tokenizers exactly as in our engine (golden ids HF produced from that committed file).
/// </summary>
public sealed class UnigramTrainerTests
{
    private static TrainedUnigram Train(int vocabSize, bool byteFallback = true)
    {
        var trainer = new UnigramTrainer(new UnigramTrainingOptions { VocabSize = vocabSize, ByteFallback = byteFallback });
        trainer.Feed(TestFiles.Text("moby-dick-ch1-3.txt"));
        trainer.Feed(TestFiles.Text("ja-original.txt"));
        return trainer.Train();
    }

    [Fact]
    public void Training_reproduces_the_committed_tokenizer_byte_for_byte()
    {
        var trained = Train(1000);
        Assert.Equal(TestFiles.Bytes("unigram-trained-1000.json"), trained.Json);
        Assert.Equal(1000, trained.Tokenizer.VocabSize);
    }

    [Fact]
    public void The_trained_tokenizer_encodes_like_hf()
    {
        var tokenizer = BpeTokenizer.FromJson(TestFiles.Bytes("unigram-trained-1000.json"));
        var texts = TestFiles.GoldenTexts("golden-texts-sp.json");
        var expected = TestFiles.GoldenIds("golden-ids-unigram-trained.json")["trained"];
        for (var i = 0; i < texts.Length; i++)
        {
            var ids = tokenizer.Encode(texts[i]);
            Assert.True(expected[i].AsSpan().SequenceEqual(ids), $"text #{i}: [{string.Join(',', ids)}] vs HF [{string.Join(',', expected[i])}]");
        }
    }

    [Fact]
    public void Smaller_vocabularies_keep_every_char_and_round_trip()
    {
        var trained = Train(500, byteFallback: false);
        Assert.Equal(500, trained.Tokenizer.VocabSize);
        var vocab = JsonNode.Parse(trained.Json)!["model"]!["vocab"]!.AsArray().Select(p => p![0]!.GetValue<string>()).ToHashSet();
        foreach (var c in TestFiles.Text("ja-original.txt").Normalize(System.Text.NormalizationForm.FormKC).Replace(' ', '\u2581').EnumerateRunes())
        {
            Assert.True(vocab.Contains(c.ToString()), $"U+{c.Value:X4} missing");
        }

        var text = TestFiles.Text("ja-original.txt")[..200];
        Assert.Equal(text.Replace('\n', ' ').Trim(), trained.Tokenizer.Decode(trained.Tokenizer.Encode(text)).Replace('\n', ' ').Trim());
        Assert.Throws<ArgumentException>(() => Train(100));
    }
}
