using System.Text;
using System.Text.Json;

namespace Jiniac.EndToEnd.Tests;

/// <summary>
/// A small, learnable two-domain corpus made by the test: English sentences from a fixed grammar (JSON Lines,
/// with one broken line and one exact duplicate planted) and Japanese HTML pages with navigation to strip.
/// </summary>
internal static class TinyCorpus
{
    private static readonly string[] Subjects = ["the whale", "the captain", "a sailor", "the ship", "the sea", "old Ahab", "the crew"];
    private static readonly string[] Verbs = ["watched", "followed", "crossed", "remembered", "feared", "sought", "found"];
    private static readonly string[] Objects = ["the white whale", "the long voyage", "the grey morning", "the quiet harbour", "the cold wind", "the distant shore"];
    private static readonly string[] JaSubjects = ["猫は", "先生は", "学生たちは", "私の友人は", "この町の人々は"];
    private static readonly string[] JaObjects = ["本を", "手紙を", "新しい歌を", "古い地図を", "日本語の文書を"];
    private static readonly string[] JaVerbs = ["読みました。", "書きました。", "探しました。", "見つけました。", "覚えています。"];

    public static void Write(string root)
    {
        var random = new Random(7);
        var en = Path.Combine(root, "data", "en");
        Directory.CreateDirectory(en);
        var lines = new List<string>();
        for (var d = 0; d < 240; d++)
        {
            var text = new StringBuilder();
            for (var s = 0; s < 12; s++)
            {
                text.Append(char.ToUpperInvariant(Pick(random, Subjects)[0])).Append(Pick(random, Subjects)[1..]).Append(' ')
                    .Append(Pick(random, Verbs)).Append(' ').Append(Pick(random, Objects)).Append(". ");
            }

            lines.Add(JsonSerializer.Serialize(new { id = $"en-{d}", text = text.ToString().Trim() }));
        }

        lines.Insert(50, lines[10]);                       // an exact duplicate: dropped
        lines.Insert(100, "{\"id\": \"broken\", \"text\": \"unterminated"); // broken JSON: quarantined (line 101)
        File.WriteAllLines(Path.Combine(en, "stories.jsonl"), lines);

        var ja = Path.Combine(root, "data", "ja");
        for (var p = 0; p < 60; p++)
        {
            var dir = Path.Combine(ja, $"section{p % 4}");
            Directory.CreateDirectory(dir);
            var body = new StringBuilder();
            for (var para = 0; para < 4; para++)
            {
                body.Append("<p>");
                for (var s = 0; s < 6; s++)
                {
                    body.Append(Pick(random, JaSubjects)).Append(Pick(random, JaObjects)).Append(Pick(random, JaVerbs));
                }

                body.Append("</p>\n");
            }

            File.WriteAllText(Path.Combine(dir, $"page{p}.html"), $"""
                <!DOCTYPE html>
                <html lang="ja"><head><meta charset="utf-8"><title>ページ {p}</title><script>var x = 1;</script></head>
                <body>
                <nav class="menu"><a href="/">ホーム</a> | <a href="/a">製品</a> | <a href="/b">サポート</a></nav>
                <div class="breadcrumb">ホーム &gt; ヘルプ &gt; ページ {p}</div>
                <main><h1>第{p}章</h1>
                {body}</main>
                <footer>Copyright © 2026 Example</footer>
                </body></html>
                """);
        }
    }

    public static string Pipeline(string name, long enBudget, long jaBudget) => $"""
        name: {name}
        tokenizer:
          train:
            vocab_size: 512
            special_tokens: ["<|endoftext|>"]
        model:
          hidden_size: 32
          intermediate_size: 64
          num_layers: 2
          num_heads: 2
          num_kv_heads: 1
          max_position_embeddings: 64
        training:
          seq_length: 32
          micro_batch_size: 4
          learning_rate: 1e-2
          min_learning_rate: 1e-3
          warmup_steps: 10
          checkpoint_interval: 25
          threads: 1
        evaluation:
          max_tokens_per_domain: 4k
        publish:
          repo: e2e/tiny
          languages: [en, ja]
        stages:
          - name: en
            token_budget: {enBudget}
            sources:
              - name: stories
                path: data/en/stories.jsonl
                eval_fraction: 0.05
                cleaning:                   # a 7x7x6 grammar is repetitive by construction: Gopher's rules drop a third of it
                  repetition: false
          - name: ja
            token_budget: {jaBudget}
            sources:
              - name: pages
                path: data/ja
                format: tree
                eval_fraction: 0.1
                cleaning:                   # 125 sentences recombined: every page fails Gopher's n-gram rules
                  repetition: false
        """;

    private static string Pick(Random random, string[] items) => items[random.Next(items.Length)];
}
