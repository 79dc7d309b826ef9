using System.Text;
using Jiniac.Text.Bpe;

namespace Jiniac.Text.Tests;

public sealed class TrainerTests
{
    private static BpeTrainer Fed(int vocabSize, params string[] texts)
    {
        var trainer = new BpeTrainer(new BpeTrainingOptions { VocabSize = vocabSize, MinFrequency = 2, SpecialTokens = ["<|endoftext|>", "<|pad|>"] });
        foreach (var t in texts)
        {
            trainer.Feed(t);
        }

        return trainer;
    }

    [Fact]
    public void Training_reproduces_the_committed_tokenizer_byte_for_byte()
    {
        var trained = Fed(1000, TestFiles.Text("moby-dick-ch1-3.txt"), TestFiles.Text("ja-original.txt")).Train();
        Assert.Equal(TestFiles.Bytes("trained-1000.json"), trained.Json);
        Assert.Equal(1000, trained.Tokenizer.VocabSize);
        Assert.Equal(1000 - 2 - 256, trained.Merges);
    }

    [Fact]
    public void Trained_tokenizer_saves_loads_and_round_trips()
    {
        var en = TestFiles.Text("moby-dick-ch1-3.txt");
        var ja = TestFiles.Text("ja-original.txt");
        var trained = Fed(600, en, ja).Train();
        var reloaded = BpeTokenizer.FromJson(trained.Json);
        foreach (var text in TestFiles.GoldenTexts())
        {
            var ids = trained.Tokenizer.Encode(text);
            Assert.Equal(ids, reloaded.Encode(text));
            Assert.Equal(text, reloaded.Decode(ids));
        }

        Assert.Equal(0, reloaded.EndOfDocumentId);
        Assert.Equal(1, reloaded.TokenToId("<|pad|>"));
        // Special tokens first, then the byte alphabet in code point order ('!' is the lowest).
        Assert.Equal(2, reloaded.TokenToId("!"));
    }

    [Fact]
    public void Merges_follow_hf_order_highest_count_then_smallest_pair()
    {
        // Words "cd"×1, "Ġab"×3, "Ġcd"×2, "Ġef"×2. (Ġ,a), (a,b), (c,d) tie at 3; ids of a..f are below Ġ's, so
        // (a,b) goes first; then (c,d) ties with (Ġ,ab) at 3 and wins on the smaller left id; then (Ġ,ab).
        var trained = new BpeTrainer(new BpeTrainingOptions { VocabSize = 256 + 3, MinFrequency = 1, SpecialTokens = [] })
            .Also(t => t.Feed("cd ab cd ab cd ab ef ef")).Train();
        var tok = trained.Tokenizer;
        Assert.Equal(256, tok.TokenToId("ab"));
        Assert.Equal(257, tok.TokenToId("cd"));
        Assert.Equal(258, tok.TokenToId("Ġab"));
        Assert.Null(tok.TokenToId("ef"));
        Assert.Equal(3, trained.Merges);
    }

    [Fact]
    public void Min_frequency_stops_training()
    {
        var trained = new BpeTrainer(new BpeTrainingOptions { VocabSize = 10_000, MinFrequency = 3, SpecialTokens = ["<s>"] })
            .Also(t => t.Feed("xy xy xy zw zw")).Train();
        Assert.NotNull(trained.Tokenizer.TokenToId("xy"));
        Assert.Null(trained.Tokenizer.TokenToId("zw"));
    }

    [Fact]
    public void Same_input_gives_same_bytes_and_order_of_texts_within_a_feed_does_not_matter_to_counts()
    {
        var a = Fed(700, "日本語の文章です。English text here.", "もう一つの文章。Another sentence.").Train().Json;
        var b = Fed(700, "日本語の文章です。English text here.", "もう一つの文章。Another sentence.").Train().Json;
        var c = Fed(700, "もう一つの文章。Another sentence.", "日本語の文章です。English text here.").Train().Json;
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.StartsWith("{", Encoding.UTF8.GetString(a));
    }
}

internal static class TestExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
