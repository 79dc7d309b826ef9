using System.Buffers;

namespace Jiniac.Text.Bpe;

/// <summary>An entry of tokenizer.json's added_tokens (HF AddedToken).</summary>
public sealed record AddedToken
{
    public required int Id { get; init; }
    public required string Content { get; init; }
    public bool SingleWord { get; init; }
    public bool LStrip { get; init; }
    public bool RStrip { get; init; }
    public bool Normalized { get; init; }
    public bool Special { get; init; }
}

/// <summary>
/// Finds added tokens in text as HF's AddedVocabulary does: leftmost-longest, non-overlapping matches,
/// single_word checked against the neighbouring chars, lstrip/rstrip swallowing adjacent whitespace.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly SearchValues<string> _any;
    private readonly Dictionary<char, AddedToken[]> _byFirstChar = [];

    public AddedTokenMatcher(IReadOnlyList<AddedToken> tokens)
    {
        var contents = new List<string>();
        var groups = new Dictionary<char, List<AddedToken>>();
        foreach (var t in tokens)
        {
            if (t.Content.Length == 0)
            {
                continue;
            }

            contents.Add(t.Content);
            if (!groups.TryGetValue(t.Content[0], out var list))
            {
                groups[t.Content[0]] = list = [];
            }

            list.Add(t);
        }

        foreach (var (c, list) in groups)
        {
            // Longest first, so the first that matches at a position is the leftmost-longest match.
            list.Sort((x, y) => y.Content.Length.CompareTo(x.Content.Length));
            _byFirstChar[c] = [.. list];
        }

        _any = SearchValues.Create(contents.ToArray(), StringComparison.Ordinal);
    }

    /// <summary>Appends the pieces of <paramref name="text"/>: plain text (Token null) and matched added tokens.</summary>
    public void Split(ReadOnlyMemory<char> text, List<(ReadOnlyMemory<char> Text, AddedToken? Token)> output)
    {
        var span = text.Span;
        var searchFrom = 0;
        var emittedTo = 0;
        while (searchFrom < span.Length)
        {
            var rel = span[searchFrom..].IndexOfAny(_any);
            if (rel < 0)
            {
                break;
            }

            var start = searchFrom + rel;
            var token = Longest(span[start..]);
            var stop = start + token.Content.Length;
            searchFrom = stop;

            if (token.SingleWord && ((start > 0 && IsWordChar(span, start, before: true)) || (stop < span.Length && IsWordChar(span, stop, before: false))))
            {
                continue;
            }

            if (token.LStrip)
            {
                var s = start;
                while (s > emittedTo && char.IsWhiteSpace(span[s - 1]))
                {
                    s--;
                }

                start = s;
            }

            if (token.RStrip)
            {
                while (stop < span.Length && char.IsWhiteSpace(span[stop]))
                {
                    stop++;
                }

                searchFrom = Math.Max(searchFrom, stop);
            }

            if (emittedTo < start)
            {
                output.Add((text[emittedTo..start], null));
            }

            output.Add((text[start..stop], token));
            emittedTo = stop;
        }

        if (emittedTo < span.Length)
        {
            output.Add((text[emittedTo..], null));
        }
    }

    private AddedToken Longest(ReadOnlySpan<char> at)
    {
        foreach (var t in _byFirstChar[at[0]])
        {
            if (at.StartsWith(t.Content, StringComparison.Ordinal))
            {
                return t;
            }
        }

        throw new InvalidOperationException("SearchValues reported a match no added token starts");
    }

    // Rust's char::is_alphanumeric on the code point before/after the match.
    private static bool IsWordChar(ReadOnlySpan<char> span, int index, bool before)
    {
        int cp;
        if (before)
        {
            var c = span[index - 1];
            cp = char.IsLowSurrogate(c) && index >= 2 && char.IsHighSurrogate(span[index - 2]) ? char.ConvertToUtf32(span[index - 2], c) : c;
        }
        else
        {
            var c = span[index];
            cp = char.IsHighSurrogate(c) && index + 1 < span.Length && char.IsLowSurrogate(span[index + 1]) ? char.ConvertToUtf32(c, span[index + 1]) : c;
        }

        return System.Text.Rune.TryCreate(cp, out var rune) && System.Text.Rune.IsLetterOrDigit(rune);
    }
}
