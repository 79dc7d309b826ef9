using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

public sealed class SourcePathsTests
{
    [Theory]
    [InlineData("data/*.jsonl", true)]
    [InlineData("data/part-?.jsonl", true)]
    [InlineData("data/**/x.md", true)]
    [InlineData("data/file[1].jsonl", false)]
    [InlineData("/abs/plain.jsonl", false)]
    public void A_glob_is_a_path_with_star_or_question_mark(string path, bool expected) =>
        Assert.Equal(expected, SourcePaths.IsGlob(path));

    [Fact]
    public void Expansion_follows_the_documented_rules_and_sorts_ordinally()
    {
        using var folder = new TempFolder();
        folder.Write("web/b.html", "x");
        folder.Write("web/a.html", "x");
        folder.Write("web/a.htm", "x");
        folder.Write("web/.hidden.html", "x");
        folder.Write("web/2024/c.html", "x");
        folder.Write("web/2024/deep/d.html", "x");
        folder.Write("web/.cache/e.html", "x");
        folder.Write("web/x1/f.html", "x");
        folder.Write("web/x22/g.html", "x");

        Assert.Equal([folder.PathOf("web/a.html"), folder.PathOf("web/b.html")], SourcePaths.ExpandGlob(folder.PathOf("web/*.html")));
        Assert.Equal([folder.PathOf("web/a.htm")], SourcePaths.ExpandGlob(folder.PathOf("web/?.htm")));
        Assert.Equal(
            [folder.PathOf("web/2024/c.html"), folder.PathOf("web/2024/deep/d.html"), folder.PathOf("web/a.html"), folder.PathOf("web/b.html"),
                folder.PathOf("web/x1/f.html"), folder.PathOf("web/x22/g.html")],
            SourcePaths.ExpandGlob(folder.PathOf("web/**/*.html")));
        Assert.Equal([folder.PathOf("web/x1/f.html")], SourcePaths.ExpandGlob(folder.PathOf("web/x?/*.html")));
        Assert.Equal([folder.PathOf("web/x1/f.html"), folder.PathOf("web/x22/g.html")], SourcePaths.ExpandGlob(folder.PathOf("web/x*/*")));
        Assert.Equal([folder.PathOf("web/.hidden.html")], SourcePaths.ExpandGlob(folder.PathOf("web/.*.html")));
        Assert.Equal(
            [folder.PathOf("web/2024/c.html"), folder.PathOf("web/2024/deep/d.html")],
            SourcePaths.ExpandGlob(folder.PathOf("web/2024/**")));
        Assert.Empty(SourcePaths.ExpandGlob(folder.PathOf("nothing/*.html")));
    }

    [Fact]
    public void A_relative_pattern_is_refused() =>
        Assert.Throws<ArgumentException>(() => SourcePaths.ExpandGlob("web/*.html"));
}
