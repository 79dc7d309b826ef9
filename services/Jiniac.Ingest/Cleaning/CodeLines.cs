namespace Jiniac.Ingest.Cleaning;

/// <summary>Tells a line of source code or shell from prose, cheaply, for the code-aware rules (PII).</summary>
internal static class CodeLines
{
    private static readonly string[] Starts =
    [
        "#include", "#define", "import ", "def ", "function ", "var ", "let ", "const ", "public ",
        "private ", "static ", "if (", "for (", "while (", "$ ", "sudo ", "//", "/*", "<?", "package ",
        "using ", "fn ", "func ", "SELECT ", "INSERT ", "echo ", "export ",
    ];

    public static bool LooksLikeCode(ReadOnlySpan<char> line)
    {
        // Four spaces or a tab: an indented code block in Markdown, preformatted text elsewhere.
        if (line.StartsWith("    ") || line.StartsWith("\t"))
        {
            return true;
        }

        var trimmed = line.Trim();
        if (trimmed.IsEmpty)
        {
            return false;
        }

        foreach (var start in Starts)
        {
            if (trimmed.StartsWith(start, StringComparison.Ordinal))
            {
                return true;
            }
        }

        var last = trimmed[^1];
        if (last is ';' or '{' or '}')
        {
            return true;
        }

        // Several code punctuations together: "x = f(a, b)", "a->b", "ns::f", "x == y".
        var signals = 0;
        signals += trimmed.Contains("()", StringComparison.Ordinal) ? 1 : 0;
        signals += trimmed.Contains("->", StringComparison.Ordinal) || trimmed.Contains("=>", StringComparison.Ordinal) ? 1 : 0;
        signals += trimmed.Contains("::", StringComparison.Ordinal) ? 1 : 0;
        signals += trimmed.Contains("==", StringComparison.Ordinal) || trimmed.Contains("!=", StringComparison.Ordinal) ? 1 : 0;
        signals += trimmed.Contains(" = ", StringComparison.Ordinal) ? 1 : 0;
        signals += trimmed.IndexOfAny('{', '}') >= 0 ? 1 : 0;
        signals += trimmed.Contains('`') ? 1 : 0;
        return signals >= 2;
    }
}
