using System.Text;
using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Tests.Cleaning;

public sealed class QualityFiltersTests
{
    [Theory]
    [InlineData("これは日本語の文章です。", "ja")]
    [InlineData("LibreOffice の「書式」メニューを開きます。", "ja")]
    [InlineData("Call me Ishmael. Some years ago, never mind how long precisely.", "en")]
    [InlineData("这是一个中文句子，没有假名。", "other")]
    [InlineData("Привет, как дела?", "other")]
    [InlineData("12345 67890", "other")]
    public void Language_is_told_by_script(string text, string language) => Assert.Equal(language, ScriptStats.Of(text).Language);

    [Fact]
    public void Character_class_ratios_count_over_non_space_characters()
    {
        var stats = ScriptStats.Of("価格 1234 円 ##");

        Assert.Equal(9, stats.NonSpace);
        Assert.Equal(4.0 / 9, stats.DigitRatio, 6);
        Assert.Equal(2.0 / 9, stats.SymbolRatio, 6);
        Assert.Equal(1.0, stats.JapaneseRatio, 6);
        Assert.Equal(0, ScriptStats.Of("| a | b |").Symbols); // Markdown table bars are not symbols
    }

    [Fact]
    public void Script_counts_equal_a_per_character_count_of_the_class_table_on_long_mixed_text()
    {
        // Longer than the 255-character lanes the counter flushes, with every class (and surrogates, NUL, U+FFFF).
        var random = new Random(7);
        var chars = new char[5000];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = random.Next(4) switch
            {
                0 => (char)random.Next(0x20, 0x80),
                1 => (char)random.Next(0x3040, 0x3100),
                2 => (char)random.Next(0x4E00, 0x4F00),
                _ => (char)random.Next(0, 0x10000),
            };
        }

        foreach (var length in new[] { 0, 1, 254, 255, 256, 5000 })
        {
            Assert.Equal(Naive(chars.AsSpan(0, length)), ScriptStats.Of(chars.AsSpan(0, length)));
        }

        // The counting as first written: one shift-and-mask per class per character.
        static ScriptStats Naive(ReadOnlySpan<char> text)
        {
            int l = 0, j = 0, k = 0, la = 0, d = 0, sy = 0, sp = 0;
            foreach (var c in text)
            {
                var f = CharClass.Table[c];
                l += f & 1;
                d += (f >> 1) & 1;
                sy += (f >> 2) & 1;
                j += (f >> 3) & 1;
                k += ((f >> 4) | (f >> 5)) & 1;
                la += (f >> 6) & 1;
                sp += f >> 7;
            }

            return new ScriptStats(l, j, k, la, d, sy, text.Length - sp);
        }
    }

    [Fact]
    public void Token_hashes_taken_while_scanning_equal_the_hash_of_each_token()
    {
        string[] pieces = ["a", "Ishmael", "1851", "extraordinarilylongwordoverseventeen", "猫", "日本語", "ひらがな", "カタカナー", "\U00020B9F", "Ａｂｃ"];
        var random = new Random(5);
        var tokens = Enumerable.Range(0, 3000).Select(_ => pieces[random.Next(pieces.Length)]).ToList();
        var text = string.Join(" ", tokens);
        var hashes = new ulong[4];
        var lengths = new int[4];

        var count = ScriptTokens.Hash(text, ref hashes, ref lengths);

        Assert.Equal(tokens.Count, count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal((ScriptTokens.HashOf(tokens[i]), tokens[i].Length), (hashes[i], lengths[i]));
        }
    }

    /// <summary>
    /// The n-gram rules by their definition, every position counted in a dictionary each round (one-line texts,
    /// so the line and paragraph rules, which come first, pass).
    /// </summary>
    private static string? NGramRulesByDefinition(string text)
    {
        var hashes = new ulong[16];
        var lengths = new int[16];
        var t = ScriptTokens.Hash(text, ref hashes, ref lengths);
        var grams = hashes[..t];
        var chars = lengths[..t];
        (int N, double Max, string Name)[] rules =
        [
            (2, 0.20, "top_2_gram"), (3, 0.18, "top_3_gram"), (4, 0.16, "top_4_gram"), (5, 0.15, "duplicated_5_n_grams"), (6, 0.14, "duplicated_6_n_grams"),
            (7, 0.13, "duplicated_7_n_grams"), (8, 0.12, "duplicated_8_n_grams"), (9, 0.11, "duplicated_9_n_grams"), (10, 0.10, "duplicated_10_n_grams"),
        ];
        foreach (var (n, max, name) in rules)
        {
            var count = t - n + 1;
            if (count <= 0)
            {
                return null;
            }

            for (var i = 0; i < count; i++)
            {
                grams[i] = ScriptTokens.Combine(grams[i], hashes[i + n - 1]);
                chars[i] += lengths[i + n - 1] + 1;
            }

            var counts = new Dictionary<ulong, int>();
            double measure;
            if (n <= 4)
            {
                int best = 0, bestChars = 0;
                for (var i = 0; i < count; i++)
                {
                    var c = counts[grams[i]] = counts.GetValueOrDefault(grams[i]) + 1;
                    if (c > best || (c == best && chars[i] > bestChars))
                    {
                        (best, bestChars) = (c, chars[i]);
                    }
                }

                measure = best < 2 ? 0 : (double)best * bestChars;
                if (measure / text.Length > max)
                {
                    return name;
                }

                if (best < 2)
                {
                    return null;
                }
            }
            else
            {
                measure = 0;
                for (var i = 0; i < count;)
                {
                    var c = counts[grams[i]] = counts.GetValueOrDefault(grams[i]) + 1;
                    if (c > 1)
                    {
                        measure += chars[i];
                        i += n;
                    }
                    else
                    {
                        i++;
                    }
                }

                if (measure / text.Length > max)
                {
                    return name;
                }

                if (measure == 0)
                {
                    return null;
                }
            }
        }

        return null;
    }

    [Fact]
    public void The_pruned_n_gram_rounds_decide_as_counting_every_position_does()
    {
        var random = new Random(17);
        var filter = new RepetitionFilter();
        var outcomes = new HashSet<string>();
        string[] vocabulary = ["the", "whale", "sea", "ship", "of", "a", "captain", "白い", "鯨", "を", "見た", "harpoon", "deck", "storm", "night", "rope"];
        for (var trial = 0; trial < 4000; trial++)
        {
            // Few distinct words and planted repeated phrases: every rule, and every round, gets exercised.
            var words = new List<string>();
            var size = random.Next(3, 400);
            var distinct = random.Next(2, vocabulary.Length + 1);
            while (words.Count < size)
            {
                if (words.Count > 12 && random.Next(8) == 0)
                {
                    var from = random.Next(words.Count - 12);
                    words.AddRange(words.Skip(from).Take(random.Next(2, 12)));
                }
                else
                {
                    words.Add(random.Next(3) == 0 ? $"w{random.Next(100000)}" : vocabulary[random.Next(distinct)]);
                }
            }

            var text = string.Join(' ', words);
            var hashes = new ulong[16];
            var lengths = new int[16];
            var count = ScriptTokens.Hash(text, ref hashes, ref lengths);
            var expected = NGramRulesByDefinition(text);

            Assert.Equal(expected, filter.Check(text, hashes.AsSpan(0, count), lengths.AsSpan(0, count)));
            outcomes.Add(expected ?? "kept");
        }

        Assert.True(outcomes.Count >= 8, string.Join(", ", outcomes)); // the test saw most rules fire, and documents kept
    }

    [Fact]
    public void Japanese_is_tokenised_by_script_runs()
    {
        var hashes = new ulong[4];
        var lengths = new int[4];

        var count = ScriptTokens.Hash("猫は本を読みました。ダイアログのOK button", ref hashes, ref lengths);

        Assert.Equal([1, 1, 1, 1, 1, 4, 5, 1, 2, 6], lengths[..count]);
        Assert.NotEqual(hashes[1], hashes[3]); // は and を differ
        Assert.Equal(ScriptTokens.Hash("は", ref hashes, ref lengths) is 1 ? hashes[0] : 0, ScriptTokens.Hash("猫は", ref hashes, ref lengths) is 2 ? hashes[1] : 1);
    }

    private static string? Check(string text)
    {
        var hashes = new ulong[16];
        var lengths = new int[16];
        var count = ScriptTokens.Hash(text, ref hashes, ref lengths);
        return new RepetitionFilter().Check(text, hashes.AsSpan(0, count), lengths.AsSpan(0, count));
    }

    private static string Words(int from, int count)
    {
        var sb = new StringBuilder();
        for (var i = from; i < from + count; i++)
        {
            sb.Append(sb.Length == 0 ? "" : " ").Append("word").Append((char)('a' + i % 26)).Append((char)('a' + i / 26 % 26)).Append((char)('a' + i / 676 % 26));
        }

        return sb.ToString();
    }

    [Fact]
    public void Ordinary_text_passes_every_repetition_rule()
    {
        Assert.Null(Check(Words(0, 300)));
        Assert.Null(Check("same text here"));
        Assert.Null(Check("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。"));
    }

    [Fact]
    public void Duplicate_lines_and_paragraphs_are_caught()
    {
        var lines = string.Join('\n', Words(0, 6), "Subscribe now", Words(10, 6), "Subscribe now", Words(20, 6), "Subscribe now", "Subscribe now", Words(30, 6));
        Assert.Equal("dup_line_frac", Check(lines));

        var paragraphs = string.Join("\n\n", "今日は晴れです。明日も晴れるでしょう。", "今日は晴れです。明日も晴れるでしょう。", "週末は雨の予報です。");
        Assert.Equal("dup_para_frac", Check(paragraphs));

        // One long line repeated: few duplicates by count, but most of the characters.
        var longLine = Words(100, 60);
        Assert.Equal("dup_line_char_frac", Check(string.Join('\n', longLine, Words(0, 5), Words(5, 5), Words(10, 5), Words(15, 5), longLine)));
    }

    [Fact]
    public void A_dominant_n_gram_is_caught()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 12; i++)
        {
            sb.Append("click here ").Append(Words(i * 3, 3)).Append(' ');
        }

        Assert.Equal("top_2_gram", Check(sb.ToString().Trim()));
    }

    [Fact]
    public void Duplicated_long_n_grams_are_caught_in_english_and_japanese()
    {
        var phrase = Words(500, 15);
        Assert.Equal("duplicated_5_n_grams", Check($"{Words(0, 20)} {phrase} {Words(40, 15)} {phrase} {Words(60, 10)}"));

        var ja = "吾輩は猫である名前はまだ無いどこで生れたかとんと見当がつかぬ";
        var jaText = $"{ja}。何でも薄暗いじめじめした所で泣いていた事だけは記憶している。{ja}。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。";
        var rule = Check(jaText);
        Assert.True(rule is not null && (rule.StartsWith("top_", StringComparison.Ordinal) || rule.StartsWith("duplicated_", StringComparison.Ordinal)), rule ?? "null"); // an n-gram rule, not a line rule
        Assert.Null(Check(jaText.Replace(ja + "。しかも", "しかも", StringComparison.Ordinal)));
    }
}
