using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Tests.Cleaning;

public sealed class TextRulesTests
{
    [Fact]
    public void Whitespace_runs_inside_lines_collapse_but_indentation_and_code_blocks_stay()
    {
        var text = "a  b\t\tc\n    indented  code\n```\nx   =   1\n```\n日本語　 の  文";

        var result = TextRules.NormalizeWhitespace(text, out var changed);

        Assert.Equal("a b c\n    indented code\n```\nx   =   1\n```\n日本語　 の 文", result);
        Assert.True(changed);
        Assert.Same("one two", TextRules.NormalizeWhitespace("one two", out var unchanged));
        Assert.False(unchanged);
    }

    [Fact]
    public void Urls_are_stripped_and_counted_keeping_sentence_punctuation()
    {
        var text = "See https://example.com/a?b=c. Or www.example.org, or 詳しくは http://example.jp/ページ を参照。";

        var result = TextRules.StripUrls(text, out var count);

        Assert.Equal("See . Or , or 詳しくは  を参照。", result);
        Assert.Equal(3, count);
    }

    [Fact]
    public void Emails_are_stripped_and_counted()
    {
        var result = TextRules.StripEmails("連絡は info@example.co.jp または sales@example.com へ", out var count);

        Assert.Equal("連絡は  または  へ", result);
        Assert.Equal(2, count);
    }
}
