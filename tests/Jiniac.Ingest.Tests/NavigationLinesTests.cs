using Jiniac.Ingest.Html;

namespace Jiniac.Ingest.Tests;

public sealed class NavigationLinesTests
{
    [Theory]
    [InlineData("ホーム > 製品 > ヘルプ")]
    [InlineData("Home » Docs › Page")]
    [InlineData("Home » Docs")]
    [InlineData("トップ>サポート>よくある質問")]
    [InlineData("About | Careers | Press | Contact")]
    [InlineData("| Home | Blog | Shop |")]
    [InlineData("News • Sports • Weather")]
    [InlineData("Back to top")]
    [InlineData("↑ Back to top")]
    [InlineData("前へ 次へ")]
    [InlineData("« 前へ | 次へ »")]
    [InlineData("ページの先頭へ")]
    [InlineData("Skip to main content")]
    [InlineData("< Previous | Next >")]
    public void Navigation_lines_are_recognised(string line) => Assert.True(NavigationLines.IsNavigation(line), line);

    [Theory]
    [InlineData("If x > 5 and y > 3, stop.")]
    [InlineData("メニュー 挿入 → 枠 → オプション を選択します。")]
    [InlineData("次へ")] // a heading describing a wizard button
    [InlineData("戻る")]
    [InlineData("Home")]
    [InlineData("    {Boolean|Byte|Currency|Date|Double|Integer}")] // preformatted code
    [InlineData("oMenu.AddItem(\"Item C>Item C.1>Item C.1.1\")")]
    [InlineData("a | b")]
    [InlineData("The options are red | green | blue, whichever suits the chart best today.")]
    [InlineData("これは普通の文です。ホームページを見てください。")]
    public void Content_lines_are_kept(string line) => Assert.False(NavigationLines.IsNavigation(line), line);

    [Fact]
    public void Remove_drops_only_navigation_lines()
    {
        Assert.Equal("Title\n\nBody text.\nMore.", NavigationLines.Remove("Title\nHome » Docs › Page\n\nBody text.\nBack to top\nMore."));
    }
}
