using System.Text;

namespace Jiniac.Text.Bpe;

/// <summary>
/// One HF normalizer (tokenizers normalizers/*.rs), applied to a segment of text between added tokens. Only
/// those whose output .NET reproduces exactly are implemented; the loader refuses the rest by name.
/// </summary>
internal abstract class Normalizer
{
    public abstract string Apply(string text);
}

/// <summary>NFC, NFD, NFKC, NFKD.</summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : Normalizer
{
    public NormalizationForm Form { get; } = form;

    public override string Apply(string text) => text.IsNormalized(Form) ? text : text.Normalize(Form);
}

/// <summary>Prepend: the prefix is added only to a non-empty segment.</summary>
internal sealed class PrependNormalizer(string prefix) : Normalizer
{
    public override string Apply(string text) => text.Length == 0 ? text : string.Concat(prefix, text);
}

/// <summary>Replace with a literal pattern: every non-overlapping occurrence, left to right.</summary>
internal sealed class ReplaceNormalizer(string pattern, string content) : Normalizer
{
    public override string Apply(string text) => pattern.Length == 0 ? text : text.Replace(pattern, content, StringComparison.Ordinal);
}

/// <summary>Replace with a regex pattern (matched like a Split regex, on code points).</summary>
internal sealed class RegexReplaceNormalizer(RegexSplitter regex, string content) : Normalizer
{
    public override string Apply(string text)
    {
        var matches = new List<(int Start, int End)>();
        regex.FindMatches(text, matches);
        if (matches.Count == 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, end) in matches)
        {
            sb.Append(text, at, start - at).Append(content);
            at = end;
        }

        return sb.Append(text, at, text.Length - at).ToString();
    }
}

/// <summary>Strip: removes leading and/or trailing whitespace (Rust char::is_whitespace, the White_Space property).</summary>
internal sealed class StripNormalizer(bool left, bool right) : Normalizer
{
    public override string Apply(string text)
    {
        var span = text.AsSpan();
        var start = 0;
        var end = span.Length;
        while (left && start < end && IsWhiteSpace(span[start]))
        {
            start++;
        }

        while (right && end > start && IsWhiteSpace(span[end - 1]))
        {
            end--;
        }

        return start == 0 && end == span.Length ? text : text[start..end];
    }

    // White_Space is all BMP; .NET's char.IsWhiteSpace is the same set (Zs, Zl, Zp, \t-\r, U+0085, U+00A0).
    private static bool IsWhiteSpace(char c) => char.IsWhiteSpace(c);
}

/// <summary>
/// Precompiled (HF's spm_precompiled, the normalizer of tokenizer.json files converted from SentencePiece): for each
/// extended grapheme cluster shorter than 6 UTF-8 bytes, the first (shortest) charsmap rule matching its start replaces
/// the whole cluster; otherwise each char is replaced by its own rule, or kept.
/// </summary>
internal sealed class PrecompiledNormalizer(SentencePiece.Charsmap charsmap) : Normalizer
{
    public override string Apply(string text)
    {
        var sb = new StringBuilder(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var at = 0; at < text.Length;)
        {
            var length = System.Globalization.StringInfo.GetNextTextElementLength(text, at);
            var grapheme = text.AsSpan(at, length);
            at += length;
            var bytes = Encoding.UTF8.GetBytes(grapheme.ToString());
            if (bytes.Length < 6 && charsmap.FirstPrefixReplacement(bytes) is { } whole)
            {
                sb.Append(Encoding.UTF8.GetString(whole));
                continue;
            }

            foreach (var rune in grapheme.ToString().EnumerateRunes())
            {
                var n = rune.EncodeToUtf8(utf8);
                if (charsmap.FirstPrefixReplacement(utf8[..n]) is { } replacement)
                {
                    sb.Append(Encoding.UTF8.GetString(replacement));
                }
                else
                {
                    sb.Append(rune.ToString());
                }
            }
        }

        return sb.ToString();
    }
}
