using System.Buffers;
using System.Text.RegularExpressions;

namespace Jiniac.Ingest.Cleaning;

/// <summary>Whitespace normalisation and URL / e-mail stripping (each optional per source).</summary>
internal static partial class TextRules
{
    /// <summary>
    /// Runs of spaces and tabs inside a line become one space; the line's leading indentation stays
    /// (it is structure in code and Markdown), and so do lines inside fenced code blocks.
    /// </summary>
    public static string NormalizeWhitespace(string text, out bool changed)
    {
        changed = false;
        // The common case, checked with vectorised searches: nothing to collapse.
        if (!text.Contains('\t') && !text.Contains("  ", StringComparison.Ordinal))
        {
            return text;
        }
        var buffer = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            var n = 0;
            var fence = false;
            var pos = 0;
            while (pos <= text.Length)
            {
                var rest = text.AsSpan(pos);
                var nl = rest.IndexOf('\n');
                var line = nl < 0 ? rest : rest[..nl];
                var indent = line.Length - line.TrimStart(" \t").Length;
                var body = line[indent..];
                if (body.StartsWith("```") || body.StartsWith("~~~"))
                {
                    fence = !fence;
                }

                line[..indent].CopyTo(buffer.AsSpan(n));
                n += indent;
                if (fence)
                {
                    body.CopyTo(buffer.AsSpan(n));
                    n += body.Length;
                }
                else
                {
                    var space = false;
                    foreach (var c in body)
                    {
                        if (c is ' ' or '\t')
                        {
                            if (!space)
                            {
                                changed |= c == '\t';
                                buffer[n++] = ' ';
                            }
                            else
                            {
                                changed = true;
                            }

                            space = true;
                        }
                        else
                        {
                            buffer[n++] = c;
                            space = false;
                        }
                    }
                }

                if (nl < 0)
                {
                    break;
                }

                buffer[n++] = '\n';
                pos += nl + 1;
            }

            return changed ? new string(buffer, 0, n) : text;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    public static string StripUrls(string text, out int count) => Strip(UrlPattern(), text, out count);

    public static string StripEmails(string text, out int count) => Strip(PiiRedactor.EmailPattern(), text, out count);

    private static string Strip(Regex regex, string text, out int count)
    {
        var hits = 0;
        var result = regex.Replace(text, _ =>
        {
            hits++;
            return "";
        });
        count = hits;
        return result;
    }

    // http(s)/ftp URLs and bare www. hosts, up to whitespace or a closing bracket/quote; trailing punctuation stays.
    [GeneratedRegex(@"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>""'()\[\]{}、。「」]+(?<![.,;:!?])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}
