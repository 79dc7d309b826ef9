using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Jiniac.Ingest.Cleaning;

/// <summary>
/// The "words" the repetition filters and MinHash count: a run of letters/digits outside Japanese
/// script is one token; Japanese, which has no spaces, is cut where the script changes (a run of kanji,
/// of hiragana, or of katakana is one token: 猫|は|本|を|読|みました, ダイアログ|の|オプション). That is the
/// classic crude segmentation — close enough to words for n-gram statistics, where one token per
/// character would make a "5-gram" two words long and flag ordinary Japanese as repetitive, and far
/// lighter than a morphological analyser. Punctuation, symbols and spaces separate tokens.
/// </summary>
internal static class ScriptTokens
{
    /// <summary>Kana (hiragana, katakana, the iteration mark and prolonged sound mark) and CJK ideographs.</summary>
    public static bool IsJapanese(char c) => CharClass.IsJapanese(c);

    /// <summary>
    /// Writes each token's 64-bit hash and length (UTF-16 units) into the buffers (grown as needed) and returns the count.
    /// One pass, no allocation beyond growing the caller's pooled buffers.
    /// </summary>
    public static int Hash(ReadOnlySpan<char> text, ref ulong[] hashes, ref int[] lengths)
    {
        // The hot loop of ingest: reads through refs, without bounds checks. The table has an entry for every
        // UTF-16 unit, and every text index is checked against the length by the loop conditions.
        ref var table = ref MemoryMarshal.GetArrayDataReference(CharClass.Table);
        ref var chars = ref MemoryMarshal.GetReference(text);
        const int Word = CharClass.Letter | CharClass.Digit;
        const int Script = CharClass.Hiragana | CharClass.Katakana;
        var count = 0;
        var i = 0;
        while (i < text.Length)
        {
            var c = Unsafe.Add(ref chars, i);
            int f = Unsafe.Add(ref table, c);
            int start = i, length = 1;
            // The short-token hash (see HashOf) is taken while the run is scanned: one pass over its characters.
            var h = (Offset ^ c) * Prime;
            if ((f & CharClass.Japanese) != 0)
            {
                // A run of one script: kanji (neither kana flag), hiragana or katakana.
                var script = f & Script;
                while (i + length < text.Length && Unsafe.Add(ref chars, i + length) is var d && (Unsafe.Add(ref table, d) & (CharClass.Japanese | Script)) == (CharClass.Japanese | script))
                {
                    h = (h ^ d) * Prime;
                    length++;
                }
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                length = 2; // astral ideographs (CJK extension B+) and emoji: one token each
                h = (h ^ text[i + 1]) * Prime;
            }
            else if ((f & Word) != 0)
            {
                // A letter or digit outside Japanese script: the masked flags are exactly Letter (1) or Digit (2).
                while (i + length < text.Length && Unsafe.Add(ref chars, i + length) is var d && (uint)((Unsafe.Add(ref table, d) & (Word | CharClass.Japanese)) - 1) < 2)
                {
                    h = (h ^ d) * Prime;
                    length++;
                }
            }
            else
            {
                i++;
                continue;
            }

            if (count == hashes.Length)
            {
                Array.Resize(ref hashes, hashes.Length * 2);
                Array.Resize(ref lengths, lengths.Length * 2);
            }

            hashes[count] = length > 16 ? HashOf(text.Slice(start, length)) : Finish(h, length);
            lengths[count] = length;
            count++;
            i = start + length;
        }

        return count;
    }

    private const ulong Offset = 0xCBF29CE484222325UL;
    private const ulong Prime = 0x100000001B3UL;

    // Short tokens are hashed inline (FNV-1a over the UTF-16 units: a multiply per character beats a library
    // call per token); long ones by XXH3.
    internal static ulong HashOf(ReadOnlySpan<char> token)
    {
        if (token.Length > 16)
        {
            return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(token));
        }

        var h = Offset;
        foreach (var c in token)
        {
            h = (h ^ c) * Prime;
        }

        return Finish(h, token.Length);
    }

    private static ulong Finish(ulong h, int length) => h ^ (h >> 31) ^ ((ulong)length << 56);

    /// <summary>Hash of a token sequence from its tokens' hashes (order matters).</summary>
    public static ulong Combine(ulong seed, ulong next) => (seed ^ next) * 0x9E3779B97F4A7C15UL + (seed >> 29);
}
