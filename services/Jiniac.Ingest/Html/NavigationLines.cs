using System.Text;

namespace Jiniac.Ingest.Html;

/// <summary>
/// Drops the navigation that survives element-level stripping because it sits in ordinary markup:
/// breadcrumb trails ("ホーム > 製品 > ヘルプ", "Home » Docs › Page"), menu lines of short items
/// ("A | B | C") and stock navigation phrases ("Back to top", "前へ 次へ"). Runs on cleaned (NFKC) text,
/// so full-width separators have already become their ASCII forms. Only used for HTML: in Markdown
/// or plain text a "| a | b |" line is a table, not a menu.
/// </summary>
public static class NavigationLines
{
    private const int MaxNavLineChars = 200;
    private const int MaxCrumbChars = 40;
    private const int MaxMenuItemChars = 30;

    // Compared after lower-casing and keeping only letters, digits and single spaces. Only phrases that
    // are navigation wherever they stand: a lone "次へ", "戻る", "Home" or "Next Page" is a heading in
    // LibreOffice's help (it documents those buttons), so single words are not here.
    private static readonly HashSet<string> Phrases = new(StringComparer.Ordinal)
    {
        "back to top", "go to top", "return to top", "back to the top", "top of page", "top of the page",
        "skip to content", "skip to main content", "skip navigation", "skip to navigation",
        "jump to navigation", "jump to search", "previous next", "prev next", "next previous",
        "previous page next page", "newer older", "older newer", "newer posts older posts", "back to home",
        "ページの先頭へ", "ページの先頭に戻る", "ページの先頭へ戻る", "ページトップへ", "ページのトップへ",
        "ページトップへ戻る", "トップへ戻る", "トップに戻る", "先頭へ戻る", "先頭に戻る", "上へ戻る",
        "前へ 次へ", "次へ 前へ", "前のページ 次のページ", "前のページへ 次のページへ", "前の記事 次の記事",
        "ホームへ戻る", "ホームに戻る", "本文へスキップ", "本文へ移動", "メインコンテンツへスキップ",
        "メインコンテンツへ移動", "目次へ戻る", "目次に戻る",
    };

    public static string Remove(string text)
    {
        var sb = new StringBuilder(text.Length);
        var pos = 0;
        var changed = false;
        while (pos <= text.Length)
        {
            var rest = text.AsSpan(pos);
            var nl = rest.IndexOf('\n');
            var line = nl < 0 ? rest : rest[..nl];
            if (IsNavigation(line))
            {
                changed = true;
            }
            else
            {
                sb.Append(line).Append('\n');
            }

            if (nl < 0)
            {
                break;
            }

            pos += nl + 1;
        }

        if (!changed)
        {
            return text;
        }

        if (sb.Length > 0)
        {
            sb.Length--;
        }

        return sb.ToString();
    }

    public static bool IsNavigation(ReadOnlySpan<char> line)
    {
        // Outside <pre> the extractor collapses whitespace, so an indented line is preformatted text
        // (code, where "a|b|c" and "x > y > z" are content).
        if (line.IsEmpty || line[0] is ' ' or '\t')
        {
            return false;
        }

        line = line.TrimEnd();
        if (line.IsEmpty || line.Length > MaxNavLineChars)
        {
            return false;
        }

        return IsBreadcrumb(line) || IsMenu(line) || IsPhrase(line);
    }

    // Breadcrumb: at least three short crumbs separated by '>' / '»' / '›' / '≫' (two suffice with the
    // unambiguous '»' / '›'). '→' is not a separator: help texts write menu paths with it ("挿入 → 枠").
    private static bool IsBreadcrumb(ReadOnlySpan<char> line)
    {
        var separators = 0;
        var strongSeparator = false;
        var crumbs = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            var c = i < line.Length ? line[i] : '\0';
            var isSeparator = c is '>' or '»' or '›' or '≫';
            if (!isSeparator && i < line.Length)
            {
                continue;
            }

            var crumb = line[start..i].Trim();
            if (!crumb.IsEmpty)
            {
                if (!IsShortItem(crumb, MaxCrumbChars, 6))
                {
                    return false;
                }

                crumbs++;
            }
            else if (i < line.Length && crumbs > 0)
            {
                return false; // "a >> b" or "a > > b": not a trail
            }

            if (isSeparator)
            {
                separators++;
                strongSeparator |= c is '»' or '›';
            }

            start = i + 1;
        }

        return separators > 0 && (crumbs >= 3 || (crumbs == 2 && strongSeparator));
    }

    // Menu: three or more short items separated by '|' or bullets.
    private static bool IsMenu(ReadOnlySpan<char> line)
    {
        var items = 0;
        var separators = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            var c = i < line.Length ? line[i] : '\0';
            var isSeparator = c is '|' or '•' or '·';
            if (!isSeparator && i < line.Length)
            {
                continue;
            }

            var item = line[start..i].Trim();
            if (!item.IsEmpty)
            {
                if (!IsShortItem(item, MaxMenuItemChars, 4))
                {
                    return false;
                }

                items++;
            }

            if (isSeparator)
            {
                separators++;
            }

            start = i + 1;
        }

        return separators >= 2 && items >= 3;
    }

    private static bool IsShortItem(ReadOnlySpan<char> item, int maxChars, int maxWords)
    {
        if (item.Length > maxChars)
        {
            return false;
        }

        var last = item[^1];
        if (last is '.' or '。' or '!' or '?' or ':' or ';' or ',' or '、' || item.Contains('。'))
        {
            return false;
        }

        // Menu items and crumbs are words, not code or markup.
        if (item.IndexOfAny("\"'(){}[]=<;`") >= 0)
        {
            return false;
        }

        var words = 1;
        foreach (var c in item)
        {
            if (c == ' ')
            {
                words++;
            }
        }

        return words <= maxWords;
    }

    private static bool IsPhrase(ReadOnlySpan<char> line)
    {
        Span<char> buffer = stackalloc char[MaxNavLineChars];
        var n = 0;
        var space = false;
        foreach (var c in line)
        {
            if (char.IsLetterOrDigit(c))
            {
                if (space && n > 0)
                {
                    buffer[n++] = ' ';
                }

                buffer[n++] = char.ToLowerInvariant(c);
                space = false;
            }
            else
            {
                space = true;
            }
        }

        return n > 0 && Phrases.GetAlternateLookup<ReadOnlySpan<char>>().Contains(buffer[..n]);
    }
}
