using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Tests.Cleaning;

public sealed class BoilerplateLinesTests
{
    [Theory]
    [InlineData("ホーム > 製品 > ヘルプ")]
    [InlineData("Home » Docs › Getting started")]
    [InlineData("Home | Products | Support | Contact")]
    [InlineData("トップ | 会社概要 | 採用情報 | お問い合わせ")]
    [InlineData("© 2024 Example Inc.")]
    [InlineData("Copyright (c) 2001-2024 Example Corp.")]
    [InlineData("Copyright © 2026 株式会社サンプル")]
    [InlineData("All rights reserved.")]
    [InlineData("掲載記事の無断転載を禁じます。")]
    [InlineData("This site uses cookies to improve your experience. Accept")]
    [InlineData("当サイトではクッキーを使用しています。同意する")]
    [InlineData("Back to top")]
    [InlineData("ページの先頭へ戻る")]
    public void Boilerplate_lines_are_recognised(string line) => Assert.True(BoilerplateLines.IsBoilerplate(line), line);

    [Theory]
    [InlineData("| a | b | c |")]                                   // a Markdown table row
    [InlineData("> quoted > text > here")]                           // a Markdown quote
    [InlineData("If x > y, the loop ends.")]
    [InlineData("Copyright law protects the authors of original works, and this paragraph explains how.")]
    [InlineData("クッキーの焼き方を説明します。")]                  // a cookie recipe, not a cookie banner
    [InlineData("著作権法は著作者の権利を定めています。")]
    [InlineData("The captain watched the white whale.")]
    public void Content_lines_are_kept(string line) => Assert.False(BoilerplateLines.IsBoilerplate(line), line);

    [Fact]
    public void Remove_drops_boilerplate_lines_counts_them_and_leaves_code_blocks_alone()
    {
        var text = "ホーム > 製品 > ヘルプ\n本文の最初の段落です。\n```\na > b > c\n© 2024 in a code block\n```\nThe end.\n© 2024 Example Inc.";

        var cleaned = BoilerplateLines.Remove(text, out var removed);

        Assert.Equal("本文の最初の段落です。\n```\na > b > c\n© 2024 in a code block\n```\nThe end.", cleaned);
        Assert.Equal(2, removed);
    }

    [Fact]
    public void Text_without_boilerplate_is_returned_as_is()
    {
        const string text = "One line.\nAnother line.";
        Assert.Same(text, BoilerplateLines.Remove(text, out var removed));
        Assert.Equal(0, removed);
    }

    [Fact]
    public void The_footer_pre_check_lets_through_every_line_with_a_footer_or_cookie_word()
    {
        // The words the exact checks look for, as one case-insensitive search: every line it finds, the pre-check must pass.
        var words = System.Buffers.SearchValues.Create(
            ["all rights reserved", "無断転載", "無断複写", "無断複製", "禁無断転載", "著作権所有", "cookie", "クッキー", "copyright", "(c)", "©"],
            StringComparison.OrdinalIgnoreCase);
        string[] fragments = ["All Rights Reserved", "aLL rıghts reſerved", "COOKIE", "Cooﬁe", "cooKie", "coo\u212Aie", "Copyright", "COPYRIGHT", "copyrıght",
            "(C)", "©", "無断転載", "クッキー", "著作権所有", "plain words", "rights", "cook", " ", "ſ", "ı"];
        var random = new Random(3);
        for (var trial = 0; trial < 20000; trial++)
        {
            var line = string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => fragments[random.Next(fragments.Length)]));
            if (line.AsSpan().IndexOfAny(words) >= 0)
            {
                Assert.True(BoilerplateLines.MayBeFooter(line), line);
            }
        }
    }
}
