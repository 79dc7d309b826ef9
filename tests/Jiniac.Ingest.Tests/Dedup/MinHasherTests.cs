using Jiniac.Ingest.Cleaning;
using Jiniac.Ingest.Dedup;

namespace Jiniac.Ingest.Tests.Dedup;

public sealed class MinHasherTests
{
    private static ulong[] Keys(string text, MinHasher? hasher = null)
    {
        hasher ??= new MinHasher(5, 14, 8);
        var hashes = new ulong[16];
        var lengths = new int[16];
        var count = ScriptTokens.Hash(text, ref hashes, ref lengths);
        var keys = new ulong[hasher.Bands];
        hasher.BandKeys(hashes.AsSpan(0, count), keys);
        return keys;
    }

    private static string Essay(int seed, int words)
    {
        // Random letter words: prose-like for every rule (no digits, no repetition).
        var random = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => new string([.. Enumerable.Range(0, random.Next(3, 8)).Select(_ => (char)('a' + random.Next(26)))])));
    }

    private static int Shared(ulong[] a, ulong[] b) => a.Zip(b).Count(p => p.First == p.Second);

    [Fact]
    public void Signatures_are_deterministic_across_instances()
    {
        var text = Essay(1, 200);
        Assert.Equal(Keys(text), Keys(text, new MinHasher(5, 14, 8)));
        Assert.Equal(14, Keys(text).Distinct().Count()); // the band number is mixed in: no two bands share a key
    }

    [Fact]
    public void Near_duplicates_share_a_band_and_unrelated_documents_do_not()
    {
        var original = Essay(2, 400);
        var words = original.Split(' ');
        words[100] = "changed";
        words[300] = "edited";
        var near = string.Join(' ', words);

        Assert.True(Shared(Keys(original), Keys(near)) >= 1);
        for (var seed = 10; seed < 30; seed++)
        {
            Assert.Equal(0, Shared(Keys(original), Keys(Essay(seed, 400))));
        }
    }

    [Fact]
    public void Japanese_near_duplicates_share_a_band()
    {
        const string text = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。この書生というのは時々我々を捕えて煮て食うという話である。";
        var near = text.Replace("一番獰悪な", "もっとも獰悪な", StringComparison.Ordinal);
        const string other = "国境の長いトンネルを抜けると雪国であった。夜の底が白くなった。信号所に汽車が止まった。向側の座席から娘が立って来て、島村の前のガラス窓を落した。雪の冷気が流れこんだ。娘は窓いっぱいに乗り出して、遠くへ叫ぶように言った。";

        Assert.True(Shared(Keys(text), Keys(near)) >= 1);
        Assert.Equal(0, Shared(Keys(text), Keys(other)));
    }
}
