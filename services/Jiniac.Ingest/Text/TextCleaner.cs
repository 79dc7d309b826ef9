using System.Buffers;
using System.Text;

namespace Jiniac.Ingest.Text;

/// <summary>
/// The cleaning every document gets, whatever its format: control characters dropped, line endings
/// normalised, Unicode NFKC, trailing spaces stripped, runs of blank lines collapsed to one, and
/// leading/trailing blank lines removed. Idempotent: cleaning a cleaned text changes nothing.
/// </summary>
public static class TextCleaner
{
    private const NormalizationForm Nfkc = NormalizationForm.FormKC;

    public static string Clean(string text)
    {
        var controlFree = DropControls(text);
        // IsNormalized is a cheap scan for the common (already normalised, mostly ASCII) case.
        // ASCII is NFKC already (a vectorised check); so is text of NFKC-stable characters only (a table
        // lookup each); the rest asks ICU.
        var normalized = System.Text.Ascii.IsValid(controlFree) || QuickIsNfkc(controlFree) || controlFree.IsNormalized(Nfkc)
            ? controlFree
            : controlFree.Normalize(Nfkc);
        return TidyLines(normalized);
    }

    // One bit per BMP character: set when the character alone is NFKC and can never combine with the one
    // before it (not a combining mark, not a conjoining Hangul vowel/final: the NFKC_QC "Maybe" kinds).
    // A text of such characters only is NFKC. Built once from ICU's own answers (about 65 k calls).
    private static readonly Lazy<ulong[]> NfkcStable = new(BuildNfkcStable);

    private static ulong[] BuildNfkcStable()
    {
        var bits = new ulong[65536 / 64];
        Span<char> one = stackalloc char[1];
        for (var i = 0; i < 65536; i++)
        {
            var c = (char)i;
            if (char.IsSurrogate(c) || c is >= '\u1160' and <= '\u11FF' || c is >= '\uD7B0' and <= '\uD7FF')
            {
                continue;
            }

            var category = char.GetUnicodeCategory(c);
            if (category is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
                or System.Globalization.UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            one[0] = c;
            try
            {
                if (new string(one).IsNormalized(Nfkc))
                {
                    bits[i >> 6] |= 1UL << (i & 63);
                }
            }
            catch (ArgumentException)
            {
                // noncharacters (U+FFFE, U+FDD0, ...) ICU refuses: left to the full check
            }
        }

        return bits;
    }

    /// <summary>True only when every character is NFKC-stable (then the text is NFKC); false means "ask ICU".</summary>
    internal static bool QuickIsNfkc(ReadOnlySpan<char> text)
    {
        var bits = NfkcStable.Value;
        foreach (var c in text)
        {
            if ((bits[c >> 6] & (1UL << (c & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Unicode scalar values in <paramref name="text"/> (what "characters" means for MinChars).</summary>
    public static int CountChars(ReadOnlySpan<char> text)
    {
        var count = text.Length;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                count--;
            }
        }

        return count;
    }

    // Line endings become '\n'; C0/C1 controls other than \n and \t go, vertical tab, form feed, NEL and the
    // Unicode line/paragraph separators become line breaks; BOMs and lone surrogates (which NFKC rejects) go.
    private static string DropControls(string text)
    {
        var firstChange = FirstChange(text);
        if (firstChange < 0)
        {
            return text;
        }

        var buffer = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            text.AsSpan(0, firstChange).CopyTo(buffer);
            var n = firstChange;
            for (var i = firstChange; i < text.Length; i++)
            {
                var c = text[i];
                if (c == '\r')
                {
                    buffer[n++] = '\n';
                    if (i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }
                }
                else if (c is '\n' or '\t')
                {
                    buffer[n++] = c;
                }
                else if (c is '\v' or '\f' or '\u0085' or '\u2028' or '\u2029')
                {
                    buffer[n++] = '\n';
                }
                else if (c < ' ' || c is >= '\u007F' and <= '\u009F' || c == '\uFEFF')
                {
                    // dropped
                }
                else if (char.IsHighSurrogate(c))
                {
                    if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        buffer[n++] = c;
                        buffer[n++] = text[++i];
                    }
                }
                else if (!char.IsLowSurrogate(c))
                {
                    buffer[n++] = c;
                }
            }

            return new string(buffer, 0, n);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    // The characters DropControls changes, surrogates aside (those only when unpaired).
    private static readonly SearchValues<char> Controls = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"
        + "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F"
        + "\u2028\u2029\uFEFF");

    /// <summary>The first index <see cref="NeedsChange"/> holds for, or -1: vectorised searches instead of a test per character.</summary>
    internal static int FirstChange(string text)
    {
        var span = text.AsSpan();
        var control = span.IndexOfAny(Controls);
        var limit = control < 0 ? span.Length : control;
        var pos = 0;
        while (pos < limit)
        {
            var found = span[pos..limit].IndexOfAnyInRange('\uD800', '\uDFFF');
            if (found < 0)
            {
                break;
            }

            var i = pos + found;
            if (NeedsChange(text, i))
            {
                return i;
            }

            pos = i + 2; // a high surrogate with its low one
        }

        return control;
    }

    internal static bool NeedsChange(string text, int i)
    {
        var c = text[i];
        if (c < ' ')
        {
            return c != '\n' && c != '\t';
        }

        if (c is >= '\u007F' and <= '\u009F' or '\u2028' or '\u2029' or '\uFEFF')
        {
            return true;
        }

        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        }

        return char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));
    }

    /// <summary>The line tidying of <see cref="Clean"/> alone, for text that other rules have changed.</summary>
    public static string Tidy(string text) => TidyLines(text);

    // Strips spaces/tabs at line ends, keeps at most one blank line between non-blank lines and none
    // at the start or end (the classic "\n{3,}" -> "\n\n").
    private static string TidyLines(string text)
    {
        var buffer = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            var n = 0;
            var pendingBlank = false;
            var pos = 0;
            while (pos <= text.Length)
            {
                var rest = text.AsSpan(pos);
                var nl = rest.IndexOf('\n');
                var line = (nl < 0 ? rest : rest[..nl]).TrimEnd(" \t");
                if (line.IsEmpty)
                {
                    pendingBlank = n > 0;
                }
                else
                {
                    if (n > 0)
                    {
                        buffer[n++] = '\n';
                        if (pendingBlank)
                        {
                            buffer[n++] = '\n';
                        }
                    }

                    line.CopyTo(buffer.AsSpan(n));
                    n += line.Length;
                    pendingBlank = false;
                }

                if (nl < 0)
                {
                    break;
                }

                pos += nl + 1;
            }

            return n == text.Length ? text : new string(buffer, 0, n);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
