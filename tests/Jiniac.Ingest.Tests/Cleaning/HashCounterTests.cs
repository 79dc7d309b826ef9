using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Tests.Cleaning;

public sealed class HashCounterTests
{
    [Fact]
    public void Counts_match_a_dictionary_through_resets_and_growth_including_key_zero()
    {
        var counter = new HashCounter();
        var random = new Random(5);
        foreach (var size in new[] { 10, 5000, 3, 20000 })
        {
            counter.Reset(size);
            var expected = new Dictionary<ulong, int>();
            for (var i = 0; i < size; i++)
            {
                // Few distinct keys, with collisions in the low bits and the empty-slot marker 0 among them.
                var key = (ulong)random.Next(size / 2 + 1) << 40;
                var count = expected[key] = expected.GetValueOrDefault(key) + 1;
                Assert.Equal(count, counter.Increment(key));
            }
        }
    }

    [Fact]
    public void Accented_latin_words_are_one_token()
    {
        var hashes = new ulong[2];
        var lengths = new int[2];

        var count = ScriptTokens.Hash("un café crème, s'il vous plaît", ref hashes, ref lengths);

        Assert.Equal([2, 4, 5, 1, 2, 4, 5], lengths[..count]);
    }
}
