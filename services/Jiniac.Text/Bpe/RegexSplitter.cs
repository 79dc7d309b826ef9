using System.Globalization;
using System.Text.RegularExpressions;

namespace Jiniac.Text.Bpe;

/// <summary>
/// Finds the matches of a split pattern the way HF tokenizers' Rust regex engines (onig / fancy-regex) do.
/// .NET's Regex works on UTF-16 code units, so a supplementary-plane letter (e.g. 𠮷, 𝐀) would not match
/// \p{L} as it does in Rust, where the engine sees code points. Text holding surrogate pairs is therefore
/// matched on a stand-in string with one char per code point (each supplementary code point replaced by a BMP
/// char of the same Unicode category), and match positions are mapped back.
/// </summary>
internal sealed class RegexSplitter
{
    private static readonly char[] CategoryStandIns = BuildStandIns();

    private readonly Regex _regex;

    public RegexSplitter(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }

    /// <summary>Appends every match of the pattern in <paramref name="text"/> as (start, end) UTF-16 offsets, in order.</summary>
    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End)> matches)
    {
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                matches.Add((m.Index, m.Index + m.Length));
            }

            return;
        }

        var standIn = new char[text.Length];
        var offsets = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length;)
        {
            offsets[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var cp = char.ConvertToUtf32(text[i], text[i + 1]);
                standIn[n++] = CategoryStandIns[(int)CharUnicodeInfo.GetUnicodeCategory(cp)];
                i += 2;
            }
            else
            {
                standIn[n++] = text[i];
                i++;
            }
        }

        offsets[n] = text.Length;
        foreach (var m in _regex.EnumerateMatches(standIn.AsSpan(0, n)))
        {
            matches.Add((offsets[m.Index], offsets[m.Index + m.Length]));
        }
    }

    // The first non-ASCII BMP char of each category: non-ASCII so that it never equals a pattern's literal
    // (quotes, contraction letters, '/', '\r', '\n'), and none of them case-folds to an ASCII letter.
    private static char[] BuildStandIns()
    {
        var standIns = new char[32];
        var found = new bool[32];
        for (var c = 0x80; c <= 0xFFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var cat = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[cat] && c != 0x017F && c != 0x212A)
            {
                found[cat] = true;
                standIns[cat] = (char)c;
            }
        }

        return standIns;
    }
}
