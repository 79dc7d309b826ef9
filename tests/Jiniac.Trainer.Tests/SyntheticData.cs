using Jiniac.Formats.Megatron;

namespace Jiniac.Trainer.Tests;

/// <summary>
/// Learnable token streams written as Megatron indexed datasets: "counting" documents (an arithmetic
/// progression mod 63, its stride visible after two tokens) and "phrases" documents (a fixed
/// vocabulary of 8 ten-token phrases in random order). Token 0 ends each document.
/// </summary>
public static class SyntheticData
{
    public const int VocabSize = 64;

    public static string WriteCounting(string prefix, int documents, int seed)
    {
        var random = new Random(seed);
        using var writer = new IndexedDatasetWriter(prefix, IndexedDatasetDType.UInt16);
        var doc = new List<int>();
        for (var d = 0; d < documents; d++)
        {
            doc.Clear();
            var start = random.Next(63);
            var stride = random.Next(1, 5);
            var length = random.Next(20, 60);
            for (var k = 0; k < length; k++)
            {
                doc.Add(((start + (k * stride)) % 63) + 1);
            }

            doc.Add(0);
            writer.AddDocument(doc.ToArray());
        }

        writer.Complete();
        return prefix;
    }

    public static string WritePhrases(string prefix, int documents, int seed)
    {
        // The phrases are the same for every seed: the seed only changes their order.
        var phraseRandom = new Random(7);
        var phrases = new int[8][];
        for (var p = 0; p < phrases.Length; p++)
        {
            phrases[p] = new int[10];
            for (var k = 0; k < 10; k++)
            {
                phrases[p][k] = phraseRandom.Next(1, VocabSize);
            }
        }

        var random = new Random(seed);
        using var writer = new IndexedDatasetWriter(prefix, IndexedDatasetDType.UInt16);
        var doc = new List<int>();
        for (var d = 0; d < documents; d++)
        {
            doc.Clear();
            var count = random.Next(2, 6);
            for (var c = 0; c < count; c++)
            {
                doc.AddRange(phrases[random.Next(phrases.Length)]);
            }

            doc.Add(0);
            writer.AddDocument(doc.ToArray());
        }

        writer.Complete();
        return prefix;
    }
}
