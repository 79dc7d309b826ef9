using Jiniac.Ingest.Text;

namespace Jiniac.Ingest.Tests;

public sealed class TextCleanerTests
{
    [Fact]
    public void Nfkc_folds_full_width_ascii_and_half_width_katakana()
    {
        Assert.Equal("ABC123", TextCleaner.Clean("ＡＢＣ１２３"));
        Assert.Equal("カタカナ", TextCleaner.Clean("ｶﾀｶﾅ"));
        Assert.Equal("ガ", TextCleaner.Clean("ｶﾞ")); // voiced mark combines
        Assert.Equal("(株) 1kg", TextCleaner.Clean("㈱\u30001㎏"));
    }

    [Fact]
    public void The_vectorised_search_for_a_first_change_finds_what_the_per_character_test_finds()
    {
        // Controls, separators, BOMs, paired and lone surrogates, among ASCII and Japanese.
        char[] alphabet = ['a', ' ', '\n', '\t', '\r', '\0', '\u001F', '\u007F', '\u0085', '\u009F', '\u00A0', '\u2028', '\uFEFF', 'あ', '漢', '\uD83D', '\uDE00', '\uFFFF'];
        var random = new Random(11);
        for (var trial = 0; trial < 5000; trial++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var i = 0; i < chars.Length; i++)
            {
                // Mostly plain characters, so the first change lands anywhere in the text.
                chars[i] = random.Next(6) == 0 ? alphabet[random.Next(alphabet.Length)] : alphabet[random.Next(2) == 0 ? 0 : 13];
            }

            var text = new string(chars);
            var expected = Enumerable.Range(0, text.Length).FirstOrDefault(i => TextCleaner.NeedsChange(text, i), -1);
            Assert.Equal(expected, TextCleaner.FirstChange(text));
        }
    }

    [Fact]
    public void Line_endings_controls_and_trailing_spaces_are_normalised()
    {
        Assert.Equal("a\nb\nc", TextCleaner.Clean("a\r\nb\rc"));
        Assert.Equal("ab\tc", TextCleaner.Clean("a\u0000b\u0007\tc\u001B\u009F"));
        Assert.Equal("x\ny", TextCleaner.Clean("x   \t\ny  "));
        Assert.Equal("bom", TextCleaner.Clean("\uFEFFbom"));
        Assert.Equal("lone", TextCleaner.Clean("lo\uD800ne"));
        Assert.Equal("😀", TextCleaner.Clean("😀"));
    }

    [Fact]
    public void Runs_of_blank_lines_collapse_to_one_and_edges_are_trimmed()
    {
        Assert.Equal("a\n\nb\n\nc\nd", TextCleaner.Clean("\n\n  \na\n\n\n\n\nb\n \n\t\nc\nd\n\n\n"));
    }

    [Fact]
    public void Cleaning_is_idempotent()
    {
        var once = TextCleaner.Clean("ＡＢＣ\r\n\r\n\r\nｶﾀｶﾅ  \n\u0001end");
        Assert.Equal("ABC\n\nカタカナ\nend", once);
        Assert.Same(once, TextCleaner.Clean(once));
    }

    [Fact]
    public void Characters_are_counted_as_unicode_scalars()
    {
        Assert.Equal(3, TextCleaner.CountChars("a😀b"));
        Assert.Equal(5, TextCleaner.CountChars("日本語です"));
    }
}

public sealed class NfkcQuickCheckTests
{
    [Fact]
    public void A_character_the_quick_check_calls_stable_is_nfkc_alone_and_after_any_base()
    {
        Span<char> pair = stackalloc char[2];
        var stable = 0;
        for (var i = 0; i < 65536; i++)
        {
            var c = (char)i;
            if (!TextCleaner.QuickIsNfkc([c]))
            {
                continue;
            }

            stable++;
            Assert.True(c.ToString().IsNormalized(System.Text.NormalizationForm.FormKC), $"U+{i:X4}");
            foreach (var before in "aeAカか가ᄀ")
            {
                pair[0] = before;
                pair[1] = c;
                // What NFKC does to the pair is what it does to its first character alone: c never composes with it.
                Assert.True(new string(pair).Normalize(System.Text.NormalizationForm.FormKC) == before.ToString().Normalize(System.Text.NormalizationForm.FormKC) + c,
                    $"U+{(int)before:X4} U+{i:X4}");
            }
        }

        Assert.InRange(stable, 40_000, 65_000);
        Assert.False(TextCleaner.QuickIsNfkc("ｶﾞ"));   // half-width katakana and voiced mark
        Assert.False(TextCleaner.QuickIsNfkc("か\u3099")); // combining voiced mark
        Assert.True(TextCleaner.QuickIsNfkc("日本語のテキスト、ふつうの文。"));
        Assert.Equal("ガ", TextCleaner.Clean("カ\u3099"));
    }
}
