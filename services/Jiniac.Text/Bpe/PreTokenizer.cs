namespace Jiniac.Text.Bpe;

/// <summary>How a Split pre-tokenizer treats the matches (HF tokenizers SplitDelimiterBehavior).</summary>
public enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>One step of pre-tokenization: cuts each piece into smaller pieces (HF PreTokenizedString.split).</summary>
internal abstract class PreTokenizerStep
{
    /// <summary>
    /// Splits <paramref name="piece"/>, appending the non-empty results to <paramref name="output"/>.
    /// <paramref name="atStart"/>: the piece begins at offset 0 of the original text (HF offsets_original().0 == 0).
    /// </summary>
    public abstract void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output, List<(int Start, int End)> scratch, bool atStart);

    /// <summary>HF's SplitDelimiterBehavior applied to the (offsets, is_match) list of pattern.rs find_matches.</summary>
    protected static void Apply(ReadOnlyMemory<char> piece, List<(int Start, int End)> matches, SplitBehavior behavior, bool invert, List<ReadOnlyMemory<char>> output)
    {
        var length = piece.Length;
        if (length == 0)
        {
            return;
        }

        // Walk the alternating (gap, match) sequence without materialising it.
        var cursor = 0;
        var mi = 0;
        var haveLast = false;
        int lastStart = 0, lastEnd = 0;
        var previousMatch = false;
        var pendingNext = -1; // MergedWithNext: start of a match waiting to be glued to the following piece

        while (cursor < length)
        {
            int start, end;
            bool isMatch;
            if (mi < matches.Count && matches[mi].Start == cursor)
            {
                (start, end) = matches[mi];
                mi++;
                if (end == start)
                {
                    // A zero-length match yields an empty piece, which HF drops.
                    continue;
                }

                isMatch = true;
            }
            else
            {
                start = cursor;
                end = mi < matches.Count ? matches[mi].Start : length;
                isMatch = false;
            }

            cursor = end;
            if (invert)
            {
                isMatch = !isMatch;
            }

            switch (behavior)
            {
                case SplitBehavior.Removed:
                    if (!isMatch)
                    {
                        output.Add(piece[start..end]);
                    }

                    break;
                case SplitBehavior.Isolated:
                    output.Add(piece[start..end]);
                    break;
                case SplitBehavior.MergedWithPrevious:
                    if (isMatch && !previousMatch && haveLast)
                    {
                        lastEnd = end;
                    }
                    else
                    {
                        Flush(piece, ref haveLast, lastStart, lastEnd, output);
                        (haveLast, lastStart, lastEnd) = (true, start, end);
                    }

                    break;
                case SplitBehavior.Contiguous:
                    if (isMatch == previousMatch && haveLast)
                    {
                        lastEnd = end;
                    }
                    else
                    {
                        Flush(piece, ref haveLast, lastStart, lastEnd, output);
                        (haveLast, lastStart, lastEnd) = (true, start, end);
                    }

                    break;
                case SplitBehavior.MergedWithNext:
                    // HF folds from the right: a match glues onto the piece after it unless the piece after it is a match too.
                    if (pendingNext >= 0)
                    {
                        if (isMatch)
                        {
                            output.Add(piece[pendingNext..start]);
                            pendingNext = start;
                        }
                        else
                        {
                            output.Add(piece[pendingNext..end]);
                            pendingNext = -1;
                        }
                    }
                    else if (isMatch)
                    {
                        pendingNext = start;
                    }
                    else
                    {
                        output.Add(piece[start..end]);
                    }

                    break;
            }

            previousMatch = isMatch;
        }

        if (behavior == SplitBehavior.MergedWithNext && pendingNext >= 0)
        {
            output.Add(piece[pendingNext..length]);
        }

        Flush(piece, ref haveLast, lastStart, lastEnd, output);
    }

    private static void Flush(ReadOnlyMemory<char> piece, ref bool haveLast, int start, int end, List<ReadOnlyMemory<char>> output)
    {
        if (haveLast)
        {
            output.Add(piece[start..end]);
            haveLast = false;
        }
    }
}

/// <summary>HF pre_tokenizers::split::Split with a regex (or an escaped literal string).</summary>
internal sealed class SplitStep(RegexSplitter splitter, SplitBehavior behavior, bool invert) : PreTokenizerStep
{
    public RegexSplitter Splitter { get; } = splitter;
    public SplitBehavior Behavior { get; } = behavior;
    public bool Invert { get; } = invert;

    public override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output, List<(int Start, int End)> scratch, bool atStart)
    {
        scratch.Clear();
        Splitter.FindMatches(piece.Span, scratch);
        Apply(piece, scratch, Behavior, Invert, output);
    }
}

/// <summary>
/// HF ByteLevel pre-tokenizer: optionally prefixes a space, optionally splits with the GPT-2 pattern
/// (Isolated). The byte mapping itself is applied by the model when it encodes each piece.
/// </summary>
internal sealed class ByteLevelStep(bool addPrefixSpace, bool useRegex, bool trimOffsets) : PreTokenizerStep
{
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly RegexSplitter? _splitter = useRegex ? new RegexSplitter(Gpt2Pattern) : null;

    public bool AddPrefixSpace { get; } = addPrefixSpace;
    public bool UseRegex { get; } = useRegex;
    public bool TrimOffsets { get; } = trimOffsets;

    public override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output, List<(int Start, int End)> scratch, bool atStart)
    {
        if (piece.Length == 0)
        {
            return;
        }

        if (AddPrefixSpace && piece.Span[0] != ' ')
        {
            piece = string.Concat(" ", piece.Span).AsMemory();
        }

        if (_splitter is null)
        {
            output.Add(piece);
            return;
        }

        scratch.Clear();
        _splitter.FindMatches(piece.Span, scratch);
        Apply(piece, scratch, SplitBehavior.Isolated, false, output);
    }
}

/// <summary>How Metaspace adds its replacement char in front of a piece (HF PrependScheme).</summary>
public enum PrependScheme
{
    Always,
    Never,
    First,
}

/// <summary>
/// HF Metaspace pre-tokenizer: spaces become the replacement char (▁), the replacement is prepended to a piece
/// not already starting with it (always, or only at the start of the text, or never), and with split the piece
/// is cut before each replacement char (MergedWithNext).
/// </summary>
internal sealed class MetaspaceStep(char replacement, PrependScheme prependScheme, bool split) : PreTokenizerStep
{
    public char Replacement { get; } = replacement;
    public PrependScheme PrependScheme { get; } = prependScheme;
    public bool SplitOnReplacement { get; } = split;

    public override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output, List<(int Start, int End)> scratch, bool atStart)
    {
        if (piece.Length == 0)
        {
            return;
        }

        var span = piece.Span;
        if (span.Contains(' '))
        {
            piece = span.ToString().Replace(' ', Replacement).AsMemory();
            span = piece.Span;
        }

        var prepend = span[0] != Replacement && PrependScheme switch
        {
            PrependScheme.Always => true,
            PrependScheme.First => atStart,
            _ => false,
        };
        if (prepend)
        {
            var replacement = Replacement;
            piece = string.Concat(new ReadOnlySpan<char>(in replacement), span).AsMemory();
            span = piece.Span;
        }

        if (!SplitOnReplacement)
        {
            output.Add(piece);
            return;
        }

        scratch.Clear();
        for (var i = span.IndexOf(Replacement); i >= 0; i = span[(i + 1)..].IndexOf(Replacement) is var next and >= 0 ? i + 1 + next : -1)
        {
            scratch.Add((i, i + 1));
        }

        Apply(piece, scratch, SplitBehavior.MergedWithNext, false, output);
    }
}

/// <summary>
/// A pre-tokenizer that splits on a char predicate (HF's split with a closure): Digits (char::is_numeric, each
/// digit alone or runs together), WhitespaceSplit (char::is_whitespace, removed), Punctuation (ASCII or Unicode
/// punctuation, any behaviour).
/// </summary>
internal sealed class CharClassStep(Func<int, bool> isMatch, SplitBehavior behavior) : PreTokenizerStep
{
    /// <summary>Rust char::is_numeric: general category Nd, Nl or No.</summary>
    public static bool IsNumeric(int cp) => System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp) is System.Globalization.UnicodeCategory.DecimalDigitNumber
        or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber;

    /// <summary>Rust char::is_whitespace: the White_Space property, all of it in the BMP.</summary>
    public static bool IsWhiteSpace(int cp) => cp <= 0xFFFF && char.IsWhiteSpace((char)cp);

    /// <summary>HF is_punc: char::is_ascii_punctuation or a Unicode P* category.</summary>
    public static bool IsPunctuation(int cp) => (cp is > 0x20 and < 0x7F && !char.IsAsciiLetterOrDigit((char)cp))
        || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp) is System.Globalization.UnicodeCategory.ConnectorPunctuation
            or System.Globalization.UnicodeCategory.DashPunctuation or System.Globalization.UnicodeCategory.OpenPunctuation
            or System.Globalization.UnicodeCategory.ClosePunctuation or System.Globalization.UnicodeCategory.InitialQuotePunctuation
            or System.Globalization.UnicodeCategory.FinalQuotePunctuation or System.Globalization.UnicodeCategory.OtherPunctuation;

    public override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output, List<(int Start, int End)> scratch, bool atStart)
    {
        scratch.Clear();
        var span = piece.Span;
        for (var i = 0; i < span.Length;)
        {
            var length = char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]) ? 2 : 1;
            var cp = length == 2 ? char.ConvertToUtf32(span[i], span[i + 1]) : span[i];
            if (isMatch(cp))
            {
                scratch.Add((i, i + length));
            }

            i += length;
        }

        Apply(piece, scratch, behavior, false, output);
    }
}
