using Jiniac.Ingest.Html;

namespace Jiniac.Ingest.Tests;

public sealed class HtmlTextExtractorTests
{
    private const string EnglishPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8"><title>Widgets &amp; Gadgets — Example Corp</title>
          <script>var menu = "<div>not text</div>"; if (a < b) { alert('x'); }</script>
          <style>body { color: red; } .nav > li { display: inline }</style>
        </head>
        <body>
        <div id="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
        <header class="site-header"><a href="/">Example Corp</a><nav><ul><li><a href="/">Home</a></li><li><a href="/products">Products</a></li><li><a href="/support">Support</a></li></ul></nav></header>
        <div class="breadcrumbs"><a href="/">Home</a> &raquo; <a href="/docs">Docs</a> &rsaquo; Widgets</div>
        <p class="crumbs-free">Home » Docs › Widgets</p>
        <div class="container">
          <aside class="sidebar"><h3>Related articles</h3><ul><li>Gizmo FAQ</li><li>Sprocket guide</li></ul></aside>
          <main>
            <article>
              <header><h1>Choosing a widget</h1><p class="byline">By the widget team</p></header>
              <p>A widget turns rotary motion into linear motion. Most households own at least   one,
                 even if they have never noticed it.</p>
              <p>Widgets come in three sizes &mdash; small, medium and large &mdash; and cost between &pound;5 &amp; &pound;50.</p>
              <ul><li>Small widgets fit in a drawer.</li><li>Large widgets need a shed.</li></ul>
              <pre>widget --size=large
          --colour=blue</pre>
              <div class="menu">About | Careers | Press | Contact</div>
              <p>About | Careers | Press | Contact</p>
              <p><a href="#top">Back to top ↑</a></p>
            </article>
          </main>
        </div>
        <div role="navigation">Previous page · Next page</div>
        <form action="/subscribe"><label>Subscribe to our newsletter</label><input type="email"></form>
        <footer><p>© 2024 Example Corp. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
        </body>
        </html>
        """;

    [Fact]
    public void English_page_keeps_the_article_and_drops_the_chrome()
    {
        var text = HtmlTextExtractor.ExtractMainText(EnglishPage);

        Assert.Equal("""
            Choosing a widget

            By the widget team

            A widget turns rotary motion into linear motion. Most households own at least one, even if they have never noticed it.

            Widgets come in three sizes — small, medium and large — and cost between £5 & £50.

            Small widgets fit in a drawer.
            Large widgets need a shed.

            widget --size=large
              --colour=blue
            """, text);
        foreach (var gone in new[] { "cookies", "Accept", "Products", "Home", "Docs", "Related", "Gizmo", "Careers", "Back to top", "Next page", "newsletter", "rights reserved", "Privacy", "alert", "color", "Example Corp" })
        {
            Assert.DoesNotContain(gone, text, StringComparison.Ordinal);
        }
    }

    private const string JapanesePage = """
        <html><head><title>ヘルプ</title>
        <noscript><meta http-equiv="refresh" content="0; URL=noscript.html"></noscript>
        <script src="help.js"></script></head>
        <body>
        <header id="TopLeftHeader"><a class="logo"><p>LibreOffice 7.4 ヘルプ</p></a><button id="modules">モジュール</button><nav id="modules-nav"></nav></header>
        <aside class="leftside"><div id="Index"><div class="index-label">索引</div><input type="search" placeholder="全てのモジュール内を検索"></div></aside>
        <div class="topicpath"><a href="/">ホーム</a> ＞ <a href="/p">製品</a> ＞ ヘルプ</div>
        <p>ホーム &gt; 製品 &gt; ヘルプ</p>
        <div id="DisplayArea">
          <h1>テキスト枠の挿入</h1>
          <p class="paragraph">テキスト枠は、ページの任意の場所に配置できる、テキストと図の入れ物です。</p>
          <p class="paragraph">メニュー <span class="menuitem">挿入 → 枠</span> を選択して、<span class="emph">ＯＫ</span> をクリックします。</p>
          <p>Choose <span class="switchinline"><span hidden="true" id="MACtext_1" class="MAC">LibreOffice - Preferences</span><span hidden="true" id="defaulttext_1">Tools - Options</span></span> - Writer.</p>
          <p>ﾃｷｽﾄ枠の属性は右クリックで変更できます。</p>
          <div class="pager"><a>前へ</a> <a>次へ</a></div>
          <p>前へ　次へ</p>
          <p><a href="#">ページの先頭へ</a></p>
          <div class="relatedtopics"><p class="related">関連項目</p><a href="x.html">文書の強調</a></div>
        </div>
        <footer><div id="DEBUG"><p>This page is: /text/shared/guide/x.xhp</p></div></footer>
        </body></html>
        """;

    [Fact]
    public void Japanese_page_keeps_the_body_and_drops_menus_breadcrumbs_and_footer()
    {
        var text = HtmlTextExtractor.ExtractMainText(JapanesePage);

        Assert.Equal("""
            テキスト枠の挿入

            テキスト枠は、ページの任意の場所に配置できる、テキストと図の入れ物です。

            メニュー 挿入 → 枠 を選択して、OK をクリックします。

            Choose Tools - Options - Writer.

            テキスト枠の属性は右クリックで変更できます。
            """, text);
    }

    [Fact]
    public void Malformed_markup_does_not_throw_and_keeps_the_text()
    {
        var inputs = new[]
        {
            "<p>unclosed <b>bold <i>italic",
            "<div><p>one</div><p>two</span></p></p></div></div>",
            "a < b and c > d, x <= y, <3 <",
            "<p title=\"unterminated>text after",
            "<!-- unterminated comment",
            "<script>never closed",
            "<<p>>double<</p>>",
            "</>stray</nope><p/>end",
            "<![CDATA[raw <b>]]> text",
            "&notanentity; &amp &#65;&#x42; &#xZZ;",
            "",
            "<",
        };
        foreach (var input in inputs)
        {
            _ = HtmlTextExtractor.ExtractMainText(input);
        }

        Assert.Equal("unclosed bold italic", HtmlTextExtractor.ExtractMainText(inputs[0]));
        Assert.Equal("one\n\ntwo", HtmlTextExtractor.ExtractMainText(inputs[1]));
        Assert.Equal("a < b and c > d, x <= y, <3 <", HtmlTextExtractor.ExtractMainText(inputs[2]));
        Assert.Equal("", HtmlTextExtractor.ExtractMainText(inputs[5]));
        Assert.Equal("stray\n\nend", HtmlTextExtractor.ExtractMainText(inputs[7]));
        Assert.Equal("raw <b> text", HtmlTextExtractor.ExtractMainText(inputs[8]));
        Assert.Contains("AB", HtmlTextExtractor.ExtractMainText(inputs[9]), StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_markup_is_bounded()
    {
        var html = string.Concat(Enumerable.Repeat("<div>", 100_000)) + "deep" + string.Concat(Enumerable.Repeat("</div>", 100_000));
        Assert.Equal("deep", HtmlTextExtractor.ExtractMainText(html));
    }

    [Fact]
    public void Unclosed_head_ends_at_the_first_body_element()
    {
        Assert.Equal("Body text", HtmlTextExtractor.ExtractMainText("<html><head><title>T</title><meta charset=utf-8><p>Body text</p>"));
    }

    [Fact]
    public void Content_classes_that_merely_contain_a_boilerplate_word_are_kept()
    {
        // "menuitem" is LibreOffice's class for a menu name inside a sentence; "navigator" is a feature.
        Assert.Equal("Open the Navigator window.", HtmlTextExtractor.ExtractMainText("<p>Open the <span class=\"menuitem\">Navigator</span> window.</p>"));
        Assert.False(HtmlTextExtractor.HasBoilerplateWord("menuitem"));
        Assert.True(HtmlTextExtractor.HasBoilerplateWord("site-nav"));
        Assert.True(HtmlTextExtractor.HasBoilerplateWord("mainMenu"));
        Assert.True(HtmlTextExtractor.HasBoilerplateWord("page_footer"));
    }

    [Fact]
    public void Hidden_elements_are_dropped_but_switch_variants_are_kept()
    {
        Assert.Equal("shown", HtmlTextExtractor.ExtractMainText("<p>shown</p><p hidden>secret</p><div style=\"display: none\">x</div><span aria-hidden=\"true\">y</span>"));
        Assert.Equal("Writer text\nCalc text", HtmlTextExtractor.ExtractMainText(
            "<span class=\"switch\"><span hidden=\"true\" id=\"WRITER_1\"><p>Writer text</p></span><span hidden=\"true\" id=\"CALC_1\"><div>Calc text</div></span></span>").Replace("\n\n", "\n"));
    }
}
