using System.Buffers;
using System.Text;
using Jiniac.Ingest.Html;

namespace Jiniac.Ingest.Cleaning;

/// <summary>
/// Boilerplate lines in any format: breadcrumb trails, menus and stock navigation phrases
/// (<see cref="NavigationLines"/>), and cookie notices and copyright footers in Japanese and English.
/// Lines inside fenced code blocks, Markdown table rows ("| a | b |") and quotes ("> ...") are content.
/// </summary>
internal static class BoilerplateLines
{
    private const int MaxFooterChars = 160;
    private const int MaxLineChars = 200; // NavigationLines' bound too

    private static readonly string[] FooterMarks =
    [
        "all rights reserved", "無断転載", "無断複写", "無断複製", "禁無断転載", "著作権所有",
    ];

    private static readonly string[] CookieWords = ["cookie", "クッキー"];

    // Two vectorised multi-string searches tell whether a line can be a footer at all (most lines are not);
    // the exact checks below decide. English: a piece of each word ignoring case ("all r", "coo" for cookie,
    // "copyr", "(c)"), chosen without i, k or s, which non-ASCII characters can match ignoring case and which
    // send .NET's search to a per-character Unicode automaton many times slower. Japanese and '©' (no case): ordinally.
    private static readonly SearchValues<string> FooterAsciiWords =
        SearchValues.Create(["all r", "coo", "copyr", "(c)"], StringComparison.OrdinalIgnoreCase);

    private static readonly SearchValues<string> FooterOtherWords =
        SearchValues.Create(["無断転載", "無断複写", "無断複製", "禁無断転載", "著作権所有", "クッキー", "©"], StringComparison.Ordinal);

    private static readonly SearchValues<char> NavigationMarks = SearchValues.Create(">»›≫|•·");

    private static readonly string[] CookieContext =
    [
        "we use", "this site uses", "this website uses", "uses cookies", "accept", "consent", "agree", "by continuing",
        "使用して", "利用して", "使用します", "利用します", "同意", "許可",
    ];

    /// <returns>The text without boilerplate lines; <paramref name="removed"/> is how many went.</returns>
    public static string Remove(string text, out int removed)
    {
        removed = 0;
        StringBuilder? sb = null;
        var fence = false;
        var pos = 0;
        var kept = 0;
        while (pos <= text.Length)
        {
            var rest = text.AsSpan(pos);
            var nl = rest.IndexOf('\n');
            var line = nl < 0 ? rest : rest[..nl];
            var trimmed = line.TrimStart();
            var isFence = trimmed.StartsWith("```") || trimmed.StartsWith("~~~");
            if (isFence)
            {
                fence = !fence;
            }

            if (!isFence && !fence && IsBoilerplate(line))
            {
                if (sb is null)
                {
                    sb = new StringBuilder(text.Length);
                    sb.Append(text.AsSpan(0, kept));
                }

                removed++;
            }
            else if (sb is not null)
            {
                sb.Append(line);
                if (nl >= 0)
                {
                    sb.Append('\n');
                }
            }
            else
            {
                kept = pos + line.Length + (nl >= 0 ? 1 : 0);
            }

            if (nl < 0)
            {
                break;
            }

            pos += nl + 1;
        }

        return sb is null ? text : sb.ToString().Trim('\n');
    }

    public static bool IsBoilerplate(ReadOnlySpan<char> line)
    {
        var trimmed = line.Trim();
        if (trimmed.IsEmpty || trimmed[0] is '|' or '>' || trimmed.Length > MaxLineChars)
        {
            return false; // a paragraph-long line is content, whatever it contains
        }

        // Navigation needs a separator, or is a short stock phrase; skip the detailed checks otherwise.
        return ((trimmed.Length <= 40 || trimmed.IndexOfAny(NavigationMarks) >= 0) && NavigationLines.IsNavigation(line)) || IsFooter(trimmed);
    }

    /// <summary>A short line that is a copyright footer ("© 2024 Example Inc.", "Copyright (c) ...", "無断転載を禁じます") or a cookie notice.</summary>
    internal static bool IsFooter(ReadOnlySpan<char> line)
    {
        if (line.Length > MaxFooterChars || !MayBeFooter(line))
        {
            return false;
        }

        if (line[0] == '©' || StartsWithCopyright(line))
        {
            return true;
        }

        foreach (var mark in FooterMarks)
        {
            if (line.Contains(mark, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var word in CookieWords)
        {
            if (line.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                foreach (var context in CookieContext)
                {
                    if (line.Contains(context, StringComparison.OrdinalIgnoreCase))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>False when the line holds none of the footer and cookie words (ignoring case): it cannot be a footer.</summary>
    internal static bool MayBeFooter(ReadOnlySpan<char> line) => line.IndexOfAny(FooterAsciiWords) >= 0 || line.IndexOfAny(FooterOtherWords) >= 0;

    // "Copyright © 2020 X", "Copyright (C) 2001-2024 X", "Copyright 2020 X", "(c) 2020 X" — not "Copyright law says ...".
    private static bool StartsWithCopyright(ReadOnlySpan<char> line)
    {
        var rest = line;
        if (rest.StartsWith("copyright", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["copyright".Length..].TrimStart();
        }
        else if (!rest.StartsWith("(c)", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (rest.StartsWith("©") || rest.StartsWith("(c)", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return rest.Length >= 4 && char.IsAsciiDigit(rest[0]) && char.IsAsciiDigit(rest[1]) && char.IsAsciiDigit(rest[2]) && char.IsAsciiDigit(rest[3]);
    }
}
