namespace Jiniac.Ingest.Cleaning;

/// <summary>
/// Script statistics of one document: what the language and character-class rules decide on. Symbols are
/// Unicode symbol characters and ASCII markup/code punctuation, but not '|' (Markdown tables) or ordinary
/// punctuation.
/// </summary>
internal readonly record struct ScriptStats(int Letters, int Japanese, int Kana, int Latin, int Digits, int Symbols, int NonSpace)
{
    public double JapaneseRatio => Letters == 0 ? 0 : (double)Japanese / Letters;
    public double SymbolRatio => NonSpace == 0 ? 0 : (double)Symbols / NonSpace;
    public double DigitRatio => NonSpace == 0 ? 0 : (double)Digits / NonSpace;

    /// <summary>
    /// ja when at least a fifth of the letters are Japanese script and some of it is kana (kanji alone
    /// could be Chinese); en when Latin letters are the majority; otherwise other. Script statistics
    /// cannot tell English from French: the name says which scripts, not a dictionary check.
    /// </summary>
    public string Language =>
        Letters == 0 ? "other"
        : JapaneseRatio >= 0.2 && Kana > 0 ? "ja"
        : (double)Latin / Letters >= 0.5 ? "en"
        : "other";

    // Each flag byte of CharClass spread into eight 8-bit lanes of a ulong (lane i = bit i of the flags), so a
    // character's classes are counted with one add: the lanes are summed for up to 255 characters, then flushed.
    private static readonly ulong[] Spread = BuildSpread();

    private static ulong[] BuildSpread()
    {
        var spread = new ulong[256];
        for (var f = 0; f < 256; f++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                spread[f] |= (ulong)((f >> bit) & 1) << (bit * 8);
            }
        }

        return spread;
    }

    public static ScriptStats Of(ReadOnlySpan<char> text)
    {
        var table = CharClass.Table;
        var spread = Spread;
        long letters = 0, digits = 0, symbols = 0, japanese = 0, hiragana = 0, katakana = 0, latin = 0, spaces = 0;
        for (var start = 0; start < text.Length; start += 255)
        {
            var chunk = text.Slice(start, Math.Min(255, text.Length - start));
            var lanes = 0UL;
            foreach (var c in chunk)
            {
                lanes += spread[table[c]];
            }

            letters += (long)(lanes & 0xFF);
            digits += (long)((lanes >> 8) & 0xFF);
            symbols += (long)((lanes >> 16) & 0xFF);
            japanese += (long)((lanes >> 24) & 0xFF);
            hiragana += (long)((lanes >> 32) & 0xFF);
            katakana += (long)((lanes >> 40) & 0xFF);
            latin += (long)((lanes >> 48) & 0xFF);
            spaces += (long)(lanes >> 56);
        }

        // A character is never both hiragana and katakana, so kana is their sum.
        var nonSpace = text.Length - (int)spaces;
        return new ScriptStats((int)letters, (int)japanese, (int)(hiragana + katakana), (int)latin, (int)digits, (int)symbols, nonSpace);
    }
}

/// <summary>
/// Gopher's repetition filters (Rae et al. 2021, table A1) as datatrove's GopherRepetitionFilter applies
/// them, with its default thresholds: duplicate line / paragraph fractions (by count and by characters),
/// the character share of the most frequent 2/3/4-gram, and the character share of duplicated 5…10-grams.
/// Tokens are <see cref="ScriptTokens"/>. One deviation: a top n-gram that occurs once is not repetition
/// (datatrove counts it, which drops every document of a dozen words or fewer).
/// </summary>
internal sealed class RepetitionFilter
{
    public const string DupLineFrac = "dup_line_frac";
    public const string DupParaFrac = "dup_para_frac";
    public const string DupLineCharFrac = "dup_line_char_frac";
    public const string DupParaCharFrac = "dup_para_char_frac";

    private static readonly (int N, double Max)[] TopNGrams = [(2, 0.20), (3, 0.18), (4, 0.16)];
    private static readonly (int N, double Max)[] DupNGrams = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)];
    private static readonly string[] TopNames = ["top_2_gram", "top_3_gram", "top_4_gram"];
    private static readonly string[] DupNames = ["duplicated_5_n_grams", "duplicated_6_n_grams", "duplicated_7_n_grams", "duplicated_8_n_grams", "duplicated_9_n_grams", "duplicated_10_n_grams"];

    private readonly HashCounter _counter = new();
    private ulong[] _grams = new ulong[1024];
    private int[] _gramChars = new int[1024];
    private bool[] _repeated = new bool[1025];
    private int[] _candidates = new int[1024];
    private int[] _slots = new int[1024];

    public static IEnumerable<string> RuleNames =>
        [DupLineFrac, DupParaFrac, DupLineCharFrac, DupParaCharFrac, .. TopNames, .. DupNames];

    /// <returns>The rule the document fails, or null.</returns>
    public string? Check(string text, ReadOnlySpan<ulong> tokens, ReadOnlySpan<int> tokenChars)
    {
        var length = (double)text.Length;
        var (paragraphs, dupParagraphs, dupParagraphChars) = Duplicates(text, paragraphs: true);
        if (paragraphs > 0 && dupParagraphs / (double)paragraphs > 0.30)
        {
            return DupParaFrac;
        }

        if (dupParagraphChars / length > 0.20)
        {
            return DupParaCharFrac;
        }

        var (lines, dupLines, dupLineChars) = Duplicates(text, paragraphs: false);
        if (lines > 0 && dupLines / (double)lines > 0.30)
        {
            return DupLineFrac;
        }

        if (dupLineChars / length > 0.20)
        {
            return DupLineCharFrac;
        }

        if (_grams.Length < tokens.Length)
        {
            _grams = new ulong[tokens.Length];
            _gramChars = new int[tokens.Length];
            _repeated = new bool[tokens.Length + 1];
            _candidates = new int[tokens.Length];
            _slots = new int[tokens.Length];
        }

        // _grams[i] holds the hash of the n-gram starting at token i, extended by one token per round.
        // An n-gram can occur twice only if both (n-1)-grams in it do (the one at i and the one at i + 1), so from
        // the 3-grams on only those positions are candidates: the others occur once, which is all the rules need to
        // know of them. The outcome is the same as counting every position (but for 64-bit hash collisions).
        tokens.CopyTo(_grams);
        tokenChars.CopyTo(_gramChars);
        var candidates = 0;
        for (var n = 2; n <= 10; n++)
        {
            var count = tokens.Length - n + 1;
            if (count <= 0)
            {
                break;
            }

            if (n == 2)
            {
                for (var i = 0; i < count; i++)
                {
                    _candidates[i] = i;
                }

                candidates = count;
            }
            else
            {
                var kept = 0;
                for (var k = 0; k < candidates; k++)
                {
                    var i = _candidates[k];
                    if (i < count && _repeated[i] && _repeated[i + 1])
                    {
                        _candidates[kept++] = i;
                    }
                }

                candidates = kept;
            }

            for (var k = 0; k < candidates; k++)
            {
                var i = _candidates[k];
                _grams[i] = ScriptTokens.Combine(_grams[i], tokens[i + n - 1]);
                _gramChars[i] += tokenChars[i + n - 1] + 1; // joined with a space, as datatrove's " ".join
            }

            // When no n-gram repeats, no longer one can (its prefix would repeat): every later rule passes.
            // Most documents stop here after the 3- or 4-grams.
            if (n <= 4)
            {
                var share = TopShare(candidates, out var repeats);
                if (share / length > TopNGrams[n - 2].Max)
                {
                    return TopNames[n - 2];
                }

                if (!repeats)
                {
                    return null;
                }
            }
            else
            {
                var duplicated = DuplicatedChars(candidates, n);
                if (duplicated / length > DupNGrams[n - 5].Max)
                {
                    return DupNames[n - 5];
                }

                if (duplicated == 0)
                {
                    return null;
                }

                CountCandidates(candidates);
            }

            MarkRepeated(candidates);
        }

        return null;
    }

    // The most frequent n-gram among the candidates (non-candidates occur once): count × its characters, the
    // longest on a tie in count, reached first in document order as before.
    private double TopShare(int candidates, out bool repeats)
    {
        _counter.Reset(candidates);
        var best = 0;
        var bestChars = 0;
        for (var k = 0; k < candidates; k++)
        {
            var i = _candidates[k];
            var slot = _counter.IncrementSlot(_grams[i], out var c);
            _slots[k] = slot;
            if (c > best || (c == best && _gramChars[i] > bestChars))
            {
                best = c;
                bestChars = _gramChars[i];
            }
        }

        repeats = best >= 2;
        return best < 2 ? 0 : (double)best * bestChars;
    }

    // datatrove's find_all_duplicate: a repeated n-gram's characters count once per repeat and the scan skips
    // past it. A position that is no candidate occurs once: its first occurrence is never a repeat, so the scan
    // moves one on, as it would after counting it.
    private double DuplicatedChars(int candidates, int n)
    {
        _counter.Reset(candidates);
        var repeated = 0L;
        var next = 0;
        for (var k = 0; k < candidates; k++)
        {
            var i = _candidates[k];
            if (i < next)
            {
                continue; // skipped past by the last repeat
            }

            if (_counter.Increment(_grams[i]) > 1)
            {
                repeated += _gramChars[i];
                next = i + n;
            }
        }

        return repeated;
    }

    // Full counts of the candidates (DuplicatedChars' skipping leaves some uncounted), for the next round's candidates.
    private void CountCandidates(int candidates)
    {
        _counter.Reset(candidates);
        for (var k = 0; k < candidates; k++)
        {
            _slots[k] = _counter.IncrementSlot(_grams[_candidates[k]], out _);
        }
    }

    // _repeated[i]: the n-gram at i occurs at least twice (false for every position that was no candidate).
    private void MarkRepeated(int candidates)
    {
        if (candidates > 0)
        {
            // Candidates ascend and only shrink: the next round reads no further than the last one + 1.
            Array.Clear(_repeated, 0, _candidates[candidates - 1] + 2);
        }

        for (var k = 0; k < candidates; k++)
        {
            _repeated[_candidates[k]] = _counter.CountAt(_slots[k]) >= 2;
        }
    }

    // Paragraphs are split at blank lines, lines at line breaks; empty pieces are skipped.
    private (int Count, int Duplicates, long DuplicateChars) Duplicates(string text, bool paragraphs)
    {
        _counter.Reset(text.AsSpan().Count('\n') + 1); // at most one piece per line: the table never fills
        int count = 0, duplicates = 0;
        long duplicateChars = 0;
        var pos = 0;
        var span = text.AsSpan();
        while (pos < span.Length)
        {
            var rest = span[pos..];
            int end, skip;
            if (paragraphs)
            {
                end = rest.IndexOf("\n\n");
                skip = 2;
            }
            else
            {
                end = rest.IndexOf('\n');
                skip = 1;
            }

            var piece = end < 0 ? rest : rest[..end];
            pos += end < 0 ? rest.Length : end + skip;
            piece = piece.Trim('\n');
            if (piece.IsEmpty)
            {
                continue;
            }

            count++;
            if (_counter.Increment(System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(piece))) > 1)
            {
                duplicates++;
                duplicateChars += piece.Length;
            }
        }

        return (count, duplicates, duplicateChars);
    }
}
