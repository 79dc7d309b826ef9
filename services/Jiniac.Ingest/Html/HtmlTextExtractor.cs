using System.Net;
using System.Text;
using Jiniac.Ingest.Text;

namespace Jiniac.Ingest.Html;

/// <summary>
/// Reduces an HTML page to its main text with a small, forgiving tokenizer of our own (no HTML
/// library): boilerplate elements (head, scripts, styles, navigation, header, footer, sidebars,
/// forms, hidden elements, and elements whose id/class/role names navigation, menus, breadcrumbs,
/// footers, sidebars or cookie banners) are dropped, block elements become line breaks, entities are
/// decoded. Malformed markup never throws: unknown constructs are skipped or kept as text, unclosed
/// elements are closed at the end, stray end tags are ignored.
/// </summary>
public static class HtmlTextExtractor
{
    /// <summary>Main text of a page, cleaned (<see cref="TextCleaner"/>) and without navigation lines.</summary>
    public static string ExtractMainText(string html)
    {
        var raw = Extract(html);
        var cleaned = TextCleaner.Clean(raw);
        var withoutNavigation = NavigationLines.Remove(cleaned);
        return ReferenceEquals(withoutNavigation, cleaned) ? cleaned : TextCleaner.Clean(withoutNavigation);
    }

    /// <summary>The visible main text before cleaning: whitespace collapsed as a browser would, blocks on their own lines.</summary>
    public static string Extract(string html)
    {
        var state = new ExtractionState(html.Length);
        Run(html, state);
        return state.Output.ToString();
    }

    private const int MaxDepth = 1024;

    private static readonly HashSet<string> VoidElements = new(StringComparer.Ordinal)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    };

    // Content that is never text of the page, wherever it appears.
    private static readonly HashSet<string> DroppedElements = new(StringComparer.Ordinal)
    {
        "head", "script", "style", "noscript", "nav", "footer", "aside", "form", "button", "select", "textarea",
        "template", "svg", "canvas", "iframe", "object", "dialog", "menu", "datalist",
    };

    // Elements whose content is raw text up to their end tag (no markup inside).
    private static readonly HashSet<string> RawTextElements = new(StringComparer.Ordinal)
    {
        "script", "style", "noscript", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext",
    };

    // Blocks that separate paragraphs (blank line) and blocks that only start a new line.
    private static readonly HashSet<string> ParagraphElements = new(StringComparer.Ordinal)
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "dl", "section",
        "article", "main", "figure", "address", "hr", "details", "fieldset",
    };

    private static readonly HashSet<string> LineElements = new(StringComparer.Ordinal)
    {
        "div", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "thead", "tbody", "tfoot", "body", "html",
        "center", "legend", "option", "header", "footer", "nav", "aside", "hgroup",
    };

    private static readonly HashSet<string> HeadContent = new(StringComparer.Ordinal)
    {
        "title", "meta", "link", "script", "style", "noscript", "base", "template",
    };

    // Words in id/class values (split at punctuation and camelCase) that mark page chrome rather than content.
    private static readonly HashSet<string> BoilerplateWords = new(StringComparer.Ordinal)
    {
        "nav", "navbar", "navi", "navigation", "menu", "menubar", "menus", "breadcrumb", "breadcrumbs", "crumbs",
        "topicpath", "pankuzu", "footer", "sidebar", "sidenav", "cookie", "cookies", "consent", "related",
        "relatedtopics", "pagination", "pager", "skiplink", "toc", "social",
    };

    private static readonly HashSet<string> BoilerplateRoles = new(StringComparer.Ordinal)
    {
        "navigation", "banner", "contentinfo", "complementary", "menu", "menubar", "search",
    };

    private sealed class ExtractionState(int capacity)
    {
        public readonly StringBuilder Output = new(Math.Min(capacity, 1 << 20));
        public readonly List<OpenElement> Stack = [];
        public int PendingBreaks;
        public bool PendingSpace;
        public int PreDepth;

        public bool Dropped => Stack.Count > 0 && Stack[^1].Dropped;

        public void Break(int breaks)
        {
            PendingBreaks = Math.Max(PendingBreaks, breaks);
            PendingSpace = false;
        }

        public void LineBreak()
        {
            PendingBreaks = Math.Min(PendingBreaks + 1, 2);
            PendingSpace = false;
        }

        public void AppendText(ReadOnlySpan<char> text)
        {
            if (Dropped)
            {
                return;
            }

            foreach (var c in text)
            {
                if (PreDepth == 0 && c is ' ' or '\t' or '\n' or '\r' or '\f')
                {
                    PendingSpace = Output.Length > 0 && PendingBreaks == 0;
                    continue;
                }

                if (PendingBreaks > 0)
                {
                    if (Output.Length > 0)
                    {
                        Output.Append('\n', PendingBreaks);
                    }

                    PendingBreaks = 0;
                }
                else if (PendingSpace)
                {
                    Output.Append(' ');
                }

                PendingSpace = false;
                Output.Append(c);
            }
        }
    }

    private readonly record struct OpenElement(string Name, bool Dropped, bool RevealsChild = false);

    private struct Attributes
    {
        public string? Id;
        public string? Class;
        public string? Role;
        public string? Style;
        public string? AriaHidden;
        public bool Hidden;
    }

    private static void Run(string html, ExtractionState state)
    {
        var i = 0;
        var length = html.Length;
        while (i < length)
        {
            var lt = html.IndexOf('<', i);
            if (lt < 0)
            {
                Text(html.AsSpan(i), state);
                break;
            }

            if (lt > i)
            {
                Text(html.AsSpan(i, lt - i), state);
            }

            i = lt;
            if (i + 1 >= length)
            {
                state.AppendText("<");
                break;
            }

            var next = html[i + 1];
            if (next == '!')
            {
                i = SkipMarkupDeclaration(html, i, state);
            }
            else if (next == '?')
            {
                i = SkipPast(html, '>', i + 2);
            }
            else if (next == '/')
            {
                if (i + 2 < length && char.IsAsciiLetter(html[i + 2]))
                {
                    var nameEnd = ScanName(html, i + 2);
                    var name = html[(i + 2)..nameEnd].ToLowerInvariant();
                    i = SkipPast(html, '>', nameEnd);
                    EndTag(name, state);
                }
                else
                {
                    // "</>" is ignored; "</ x>" is a bogus comment, as browsers treat it.
                    i = SkipPast(html, '>', i + 2);
                }
            }
            else if (char.IsAsciiLetter(next))
            {
                i = StartTag(html, i + 1, state);
            }
            else
            {
                state.AppendText("<");
                i++;
            }
        }
    }

    private static void Text(ReadOnlySpan<char> text, ExtractionState state)
    {
        if (state.Dropped)
        {
            return;
        }

        if (text.IndexOf('&') < 0)
        {
            state.AppendText(text);
            return;
        }

        state.AppendText(WebUtility.HtmlDecode(text.ToString()));
    }

    private static int SkipMarkupDeclaration(string html, int i, ExtractionState state)
    {
        if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
        {
            var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
            return end < 0 ? html.Length : end + 3;
        }

        if (string.CompareOrdinal(html, i, "<![CDATA[", 0, 9) == 0)
        {
            var end = html.IndexOf("]]>", i + 9, StringComparison.Ordinal);
            var stop = end < 0 ? html.Length : end;
            if (!state.Dropped)
            {
                state.AppendText(html.AsSpan(i + 9, stop - (i + 9)));
            }

            return end < 0 ? html.Length : end + 3;
        }

        // <!DOCTYPE ...> and other declarations.
        return SkipPast(html, '>', i + 2);
    }

    private static int SkipPast(string html, char c, int from)
    {
        if (from >= html.Length)
        {
            return html.Length;
        }

        var end = html.IndexOf(c, from);
        return end < 0 ? html.Length : end + 1;
    }

    private static int ScanName(string html, int from)
    {
        var i = from;
        while (i < html.Length && !IsTagBoundary(html[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsTagBoundary(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '/' or '>';

    private static int StartTag(string html, int nameStart, ExtractionState state)
    {
        var nameEnd = ScanName(html, nameStart);
        var name = html[nameStart..nameEnd].ToLowerInvariant();
        var attributes = new Attributes();
        var i = nameEnd;
        var selfClosing = false;
        var length = html.Length;
        while (i < length)
        {
            var c = html[i];
            if (c == '>')
            {
                i++;
                break;
            }

            if (c is ' ' or '\t' or '\n' or '\r' or '\f')
            {
                i++;
                continue;
            }

            if (c == '/')
            {
                selfClosing = i + 1 < length && html[i + 1] == '>';
                i++;
                continue;
            }

            selfClosing = false;
            var attrStart = i;
            while (i < length && !IsTagBoundary(html[i]) && html[i] != '=')
            {
                i++;
            }

            var attrName = html.AsSpan(attrStart, i - attrStart);
            while (i < length && html[i] is ' ' or '\t' or '\n' or '\r' or '\f')
            {
                i++;
            }

            string? value = null;
            if (i < length && html[i] == '=')
            {
                i++;
                while (i < length && html[i] is ' ' or '\t' or '\n' or '\r' or '\f')
                {
                    i++;
                }

                if (i < length && html[i] is '"' or '\'')
                {
                    var quote = html[i];
                    var end = html.IndexOf(quote, i + 1);
                    var stop = end < 0 ? length : end;
                    value = html[(i + 1)..stop];
                    i = end < 0 ? length : end + 1;
                }
                else
                {
                    var valueStart = i;
                    while (i < length && html[i] is not (' ' or '\t' or '\n' or '\r' or '\f' or '>'))
                    {
                        i++;
                    }

                    value = html[valueStart..i];
                }
            }

            Remember(ref attributes, attrName, value);
        }

        Open(name, attributes, selfClosing, state);

        if (RawTextElements.Contains(name) && !selfClosing)
        {
            // Raw text: everything up to the matching end tag is this element's content.
            var end = FindRawTextEnd(html, i, name);
            if (!state.Dropped && name is "xmp" or "plaintext")
            {
                state.AppendText(html.AsSpan(i, end - i));
            }

            i = end;
        }

        return i;
    }

    private static int FindRawTextEnd(string html, int from, string name)
    {
        var i = from;
        while (true)
        {
            var lt = html.IndexOf("</", i, StringComparison.Ordinal);
            if (lt < 0)
            {
                return html.Length;
            }

            var after = lt + 2 + name.Length;
            if (after <= html.Length
                && string.Compare(html, lt + 2, name, 0, name.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (after == html.Length || IsTagBoundary(html[after])))
            {
                return lt;
            }

            i = lt + 2;
        }
    }

    private static void Remember(ref Attributes attributes, ReadOnlySpan<char> name, string? value)
    {
        if (name.Equals("id", StringComparison.OrdinalIgnoreCase))
        {
            attributes.Id = value;
        }
        else if (name.Equals("class", StringComparison.OrdinalIgnoreCase))
        {
            attributes.Class = value;
        }
        else if (name.Equals("role", StringComparison.OrdinalIgnoreCase))
        {
            attributes.Role = value;
        }
        else if (name.Equals("style", StringComparison.OrdinalIgnoreCase))
        {
            attributes.Style = value;
        }
        else if (name.Equals("aria-hidden", StringComparison.OrdinalIgnoreCase))
        {
            attributes.AriaHidden = value;
        }
        else if (name.Equals("hidden", StringComparison.OrdinalIgnoreCase))
        {
            attributes.Hidden = true;
        }
    }

    private static void Open(string name, Attributes attributes, bool selfClosing, ExtractionState state)
    {
        var stack = state.Stack;

        // Browsers close <head> at the first element that cannot be in it; so do we, or an unclosed
        // <head> would swallow the whole page.
        if (!HeadContent.Contains(name) && name != "head")
        {
            var head = IndexOf(stack, "head");
            if (head >= 0)
            {
                PopTo(head, state);
            }
        }

        // Implied end tags that matter for structure: a block closes an open <p>; a list item, table
        // cell/row or definition term closes its open sibling.
        if (ParagraphElements.Contains(name) || LineElements.Contains(name))
        {
            if (stack.Count > 0 && stack[^1].Name == "p")
            {
                PopTo(stack.Count - 1, state);
            }
        }

        if (name is "li" or "dt" or "dd" or "tr" or "td" or "th" or "option")
        {
            CloseOpenSibling(name, state);
        }

        if (name == "br")
        {
            state.LineBreak();
            return;
        }

        if (ParagraphElements.Contains(name))
        {
            state.Break(2);
        }
        else if (LineElements.Contains(name))
        {
            state.Break(1);
        }
        else if (name is "td" or "th")
        {
            state.PendingSpace = state.Output.Length > 0 && state.PendingBreaks == 0;
        }

        if (VoidElements.Contains(name) || (selfClosing && !RawTextElements.Contains(name)))
        {
            return;
        }

        if (stack.Count >= MaxDepth)
        {
            return;
        }

        var dropped = state.Dropped || IsDropped(name, attributes, stack);
        stack.Add(new OpenElement(name, dropped, HasWord(attributes.Class, "switch")));
        if (name == "pre")
        {
            state.PreDepth++;
        }
    }

    private static void CloseOpenSibling(string name, ExtractionState state)
    {
        var stack = state.Stack;
        for (var i = stack.Count - 1; i >= 0; i--)
        {
            var open = stack[i].Name;
            if (open == name || (name is "dt" or "dd" && open is "dt" or "dd") || (name is "td" or "th" && open is "td" or "th"))
            {
                PopTo(i, state);
                return;
            }

            // Stop at the container: a nested list's item does not close its parent's.
            if (open is "ul" or "ol" or "dl" or "table" or "tbody" or "thead" or "tfoot" or "select" or "datalist"
                || (open == "tr" && name is "td" or "th"))
            {
                return;
            }
        }
    }

    private static void EndTag(string name, ExtractionState state)
    {
        var index = IndexOf(state.Stack, name);
        if (index >= 0)
        {
            PopTo(index, state);
        }
        else if (name == "br")
        {
            state.LineBreak(); // "</br>" is a line break in every browser
        }
        else if (name == "p" && !state.Dropped)
        {
            state.Break(2);
        }
    }

    private static int IndexOf(List<OpenElement> stack, string name)
    {
        for (var i = stack.Count - 1; i >= 0; i--)
        {
            if (stack[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Closes the element at <paramref name="index"/> and everything opened inside it.</summary>
    private static void PopTo(int index, ExtractionState state)
    {
        var stack = state.Stack;
        for (var i = stack.Count - 1; i >= index; i--)
        {
            var element = stack[i];
            stack.RemoveAt(i);
            if (element.Name == "pre")
            {
                state.PreDepth--;
            }

            if (!element.Dropped || (i == 0 || !stack[i - 1].Dropped))
            {
                // Closing a block (kept, or dropped in kept surroundings) ends its line.
                if (ParagraphElements.Contains(element.Name))
                {
                    state.Break(2);
                }
                else if (LineElements.Contains(element.Name))
                {
                    state.Break(1);
                }
            }
        }
    }

    private static bool IsDropped(string name, in Attributes attributes, List<OpenElement> stack)
    {
        if (DroppedElements.Contains(name))
        {
            return true;
        }

        // A <header> inside an <article> or <main> is that article's own heading block (title,
        // byline): content. Elsewhere it is the site's banner.
        if (name == "header" && IndexOf(stack, "article") < 0 && IndexOf(stack, "main") < 0)
        {
            return true;
        }

        if (attributes.Role is { } role && BoilerplateRoles.Contains(role.Trim().ToLowerInvariant()))
        {
            return true;
        }

        if (HasBoilerplateWord(attributes.Id) || HasBoilerplateWord(attributes.Class))
        {
            return true;
        }

        if (string.Equals(attributes.AriaHidden?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (attributes.Style is { } style && HidesElement(style))
        {
            return true;
        }

        // Hidden elements are not shown, except where a page's script reveals one variant. LibreOffice's
        // help does that twice: class="switchinline" holds hidden platform variants of a phrase ("MAC…"
        // and "default…" ids; the default one is shown), class="switch" holds hidden per-application
        // variants of whole sections (the one for the open module is shown; all are content).
        if (!attributes.Hidden)
        {
            return false;
        }

        var revealedBySwitch = stack.Count > 0 && stack[^1].RevealsChild;
        var defaultVariant = attributes.Id?.StartsWith("default", StringComparison.OrdinalIgnoreCase) ?? false;
        return !revealedBySwitch && !defaultVariant;
    }

    private static bool HidesElement(string style)
    {
        Span<char> compact = stackalloc char[Math.Min(style.Length, 512)];
        var n = 0;
        foreach (var c in style)
        {
            if (n == compact.Length)
            {
                break;
            }

            if (!char.IsWhiteSpace(c))
            {
                compact[n++] = char.ToLowerInvariant(c);
            }
        }

        var s = compact[..n];
        return s.Contains("display:none", StringComparison.Ordinal) || s.Contains("visibility:hidden", StringComparison.Ordinal);
    }

    private static bool HasWord(string? value, string word)
    {
        if (value is null)
        {
            return false;
        }

        foreach (var part in value.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a word of an id/class value (split at non-alphanumerics and camelCase humps) names page chrome.</summary>
    internal static bool HasBoilerplateWord(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var lookup = BoilerplateWords.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> word = stackalloc char[64];
        var n = 0;
        var overflow = false;
        for (var i = 0; i <= value.Length; i++)
        {
            var c = i < value.Length ? value[i] : ' ';
            var hump = n > 0 && char.IsUpper(c) && i > 0 && char.IsLower(value[i - 1]);
            if (!char.IsAsciiLetterOrDigit(c) || hump)
            {
                if (n > 0 && !overflow && lookup.Contains(word[..n]))
                {
                    return true;
                }

                n = 0;
                overflow = false;
                if (!char.IsAsciiLetterOrDigit(c))
                {
                    continue;
                }
            }

            if (n < word.Length)
            {
                word[n++] = char.ToLowerInvariant(c);
            }
            else
            {
                overflow = true;
            }
        }

        return false;
    }
}
