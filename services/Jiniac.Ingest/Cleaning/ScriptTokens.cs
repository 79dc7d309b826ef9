using System.IO.Hashing;
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
    public static bool IsJapanese(char c) =>
        c is >= '\u3040' and <= '\u30FF' or >= '\u31F0' and <= '\u31FF' or >= '\u3400' and <= '\u4DBF'
            or >= '\u4E00' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF' or '\u3005' or '\u3006';

    // 0 kanji (with 々 〆), 1 hiragana, 2 katakana (with the prolonged sound mark ー).
    private static int ScriptOf(char c) => c is >= '\u3040' and <= '\u309F' ? 1 : c is >= '\u30A0' and <= '\u30FF' or >= '\u31F0' and <= '\u31FF' ? 2 : 0;

    public static bool IsKana(char c) => c is >= '\u3040' and <= '\u30FF' or >= '\u31F0' and <= '\u31FF';

    /// <summary>
    /// Writes each token's 64-bit hash and length (UTF-16 units) into the buffers (grown as needed) and returns the count.
    /// One pass, no allocation beyond growing the caller's pooled buffers.
    /// </summary>
    public static int Hash(ReadOnlySpan<char> text, ref ulong[] hashes, ref int[] lengths)
    {
        var count = 0;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            int start = i, length;
            if (char.IsAsciiLetterOrDigit(c))
            {
                // The ASCII fast path: most tokens of most text.
                length = 1;
                while (i + length < text.Length && char.IsAsciiLetterOrDigit(text[i + length]))
                {
                    length++;
                }

                while (i + length < text.Length && text[i + length] >= '\u0080' && char.IsLetterOrDigit(text[i + length]) && !IsJapanese(text[i + length]))
                {
                    length++; // "café": an accented letter continues the word (then the general rule below does not run)
                    while (i + length < text.Length && char.IsAsciiLetterOrDigit(text[i + length]))
                    {
                        length++;
                    }
                }
            }
            else if (c < '\u0080')
            {
                i++;
                continue;
            }
            else if (IsJapanese(c))
            {
                var script = ScriptOf(c);
                length = 1;
                while (i + length < text.Length && IsJapanese(text[i + length]) && ScriptOf(text[i + length]) == script)
                {
                    length++;
                }
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                length = 2; // astral ideographs (CJK extension B+) and emoji: one token each
            }
            else if (char.IsLetterOrDigit(c))
            {
                length = 1;
                while (i + length < text.Length && char.IsLetterOrDigit(text[i + length]) && !IsJapanese(text[i + length]))
                {
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

            hashes[count] = HashOf(text.Slice(start, length));
            lengths[count] = length;
            count++;
            i = start + length;
        }

        return count;
    }

    // Short tokens are hashed inline (a multiply per character beats a library call per token); long ones by XXH3.
    private static ulong HashOf(ReadOnlySpan<char> token)
    {
        if (token.Length > 16)
        {
            return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(token));
        }

        var h = 0xCBF29CE484222325UL;
        foreach (var c in token)
        {
            h = (h ^ c) * 0x100000001B3UL;
        }

        return h ^ (h >> 31) ^ ((ulong)token.Length << 56);
    }

    /// <summary>Hash of a token sequence from its tokens' hashes (order matters).</summary>
    public static ulong Combine(ulong seed, ulong next) => (seed ^ next) * 0x9E3779B97F4A7C15UL + (seed >> 29);
}
