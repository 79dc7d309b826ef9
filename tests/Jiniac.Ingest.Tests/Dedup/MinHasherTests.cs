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

    /// <summary>
    /// The band keys as first defined (one shingle at a time over all permutations, scalar): the vectorised,
    /// permutation-major code must give exactly these, or stored dedup indexes would stop matching.
    /// </summary>
    private static ulong[] ReferenceKeys(string text, int shingle, int bands, int rows)
    {
        var hashes = new ulong[16];
        var lengths = new int[16];
        var count = ScriptTokens.Hash(text, ref hashes, ref lengths);
        var tokens = hashes[..count];
        var seeds = new uint[bands * rows];
        var state = 0x4A494E4941430001UL;
        for (var i = 0; i < seeds.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            seeds[i] = (uint)(z ^ (z >> 31));
        }

        var signature = Enumerable.Repeat(uint.MaxValue, seeds.Length).ToArray();
        for (var i = 0; i < Math.Max(1, tokens.Length - shingle + 1); i++)
        {
            var h = 0xCBF29CE484222325UL;
            for (var j = i; j < Math.Min(tokens.Length, i + shingle); j++)
            {
                h = ScriptTokens.Combine(h, tokens[j]);
            }

            for (var p = 0; p < seeds.Length; p++)
            {
                var v = (uint)(h ^ (h >> 32)) ^ seeds[p];
                v ^= v >> 16;
                v *= 0x7FEB352Du;
                v ^= v >> 15;
                v *= 0x846CA68Bu;
                v ^= v >> 16;
                signature[p] = Math.Min(signature[p], v);
            }
        }

        var keys = new ulong[bands];
        for (var b = 0; b < bands; b++)
        {
            var key = 0x84222325CBF29CE4UL ^ (ulong)b;
            for (var r = 0; r < rows; r++)
            {
                key = ScriptTokens.Combine(key, signature[b * rows + r]);
            }

            keys[b] = key;
        }

        return keys;
    }

    [Theory]
    [InlineData(5, 14, 8)]
    [InlineData(3, 3, 5)]
    [InlineData(1, 64, 32)]
    [InlineData(7, 1, 1)]
    public void Band_keys_equal_the_scalar_definition(int shingle, int bands, int rows)
    {
        var hasher = new MinHasher(shingle, bands, rows);
        string[] texts = [Essay(3, 500), Essay(4, 3), "", "吾輩は猫である。名前はまだ無い。", Essay(5, 5000)];
        foreach (var text in texts)
        {
            Assert.Equal(ReferenceKeys(text, shingle, bands, rows), Keys(text, hasher));
        }
    }
}
