using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Tests.Cleaning;

public sealed class PiiRedactorTests
{
    private static readonly string[] All = ["email", "phone", "mynumber", "card", "ip"];

    private static (string Text, PiiRedactor Redactor) Redact(string text, params string[] kinds)
    {
        var redactor = new PiiRedactor(kinds.Length == 0 ? All : kinds);
        return (redactor.Redact(text), redactor);
    }

    [Theory]
    [InlineData("連絡先: taro.yamada@example.co.jp まで", "連絡先: <EMAIL> まで")]
    [InlineData("Write to jane.doe+news@mail.example.com today.", "Write to <EMAIL> today.")]
    [InlineData("電話 03-1234-5678 (代表)", "電話 <PHONE> (代表)")]
    [InlineData("携帯は090-1234-5678です。", "携帯は<PHONE>です。")]
    [InlineData("お問い合わせ (03) 1234-5678 まで", "お問い合わせ <PHONE> まで")]
    [InlineData("フリーダイヤル 0120-123-456", "フリーダイヤル <PHONE>")]
    [InlineData("Call +81 90-1234-5678 or +1 415 555 2671.", "Call <PHONE> or <PHONE>.")]
    [InlineData("個人番号 1234 5678 9018 を記入", "個人番号 <MYNUMBER> を記入")]
    [InlineData("My Number: 987654321093", "My Number: <MYNUMBER>")]
    [InlineData("Card 4111 1111 1111 1111 expires", "Card <CARD> expires")]
    [InlineData("カード番号 5555555555554444 です", "カード番号 <CARD> です")]
    [InlineData("The server at 8.8.8.8 answered", "The server at <IP> answered")]
    [InlineData("server 93.184.216.34.", "server <IP>.")]
    [InlineData("DNS サーバー 1.1.1.1 を使う", "DNS サーバー <IP> を使う")]
    [InlineData("IPv6 2606:4700:4700::1111 too", "IPv6 <IP> too")]
    public void Pii_is_replaced_by_its_token(string text, string expected) => Assert.Equal(expected, Redact(text).Text);

    [Theory]
    [InlineData("個人番号 1234 5678 9019 を記入")]      // wrong My Number check digit
    [InlineData("Card 4111 1111 1111 1112 expires")]  // fails Luhn
    [InlineData("In 2019 2020 2021 2022 sales grew")]  // years, not a card (no issuer starts with 2019)
    [InlineData("2024-01-15 に公開")]                   // a date
    [InlineData("ルーター 192.168.0.1 に接続")]          // private address: not personal
    [InlineData("loopback 127.0.0.1 and fe80::1")]
    [InlineData("version 1.2.3.4 is out")]
    [InlineData("v1.2.3.4 and 1.2.3.4.5 are versions")]
    [InlineData("#### 6.5.1.2. dpkg-deb")]             // a section number
    [InlineData("commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 and 41111111111111111d")]
    [InlineData("std::vector<int> and a::b")]
    [InlineData("価格は 12,345 円、0.5 % 引き")]
    public void Look_alikes_are_not_flagged(string text) => Assert.Equal(text, Redact(text).Text);

    [Fact]
    public void Code_is_not_flagged()
    {
        var text = "```\nemail = 'root@example.com'\n```\n    server = \"8.8.8.8\"\nconst ip = '8.8.8.8';\nmail me at root@example.com";

        var (redacted, redactor) = Redact(text);

        Assert.Equal("```\nemail = 'root@example.com'\n```\n    server = \"8.8.8.8\"\nconst ip = '8.8.8.8';\nmail me at <EMAIL>", redacted);
        Assert.Equal((1, 0), (redactor.Emails, redactor.Ips));
    }

    [Fact]
    public void Hits_are_counted_by_kind_and_only_chosen_kinds_are_redacted()
    {
        var (text, redactor) = Redact("a@example.com b@example.org 03-1234-5678 8.8.4.4", "email");

        Assert.Equal("<EMAIL> <EMAIL> 03-1234-5678 8.8.4.4", text);
        Assert.Equal((2, 0, 0), (redactor.Emails, redactor.Phones, redactor.Ips));

        var (all, counted) = Redact("a@example.com 03-1234-5678 8.8.4.4 4111111111111111 123456789018");
        Assert.Equal("<EMAIL> <PHONE> <IP> <CARD> <MYNUMBER>", all);
        Assert.Equal((1, 1, 1, 1, 1), (counted.Emails, counted.Phones, counted.Ips, counted.Cards, counted.MyNumbers));
    }

    [Fact]
    public void The_check_digit_rules_are_the_official_ones()
    {
        // My Number: 11 − (Σ P(n)·Q(n) mod 11), 0 when the remainder is 0 or 1. 12345678901 → 8, 98765432109 → 3.
        Assert.True(PiiRedactor.IsMyNumber([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 8]));
        Assert.True(PiiRedactor.IsMyNumber([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 3]));
        Assert.False(PiiRedactor.IsMyNumber([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 7]));
        Assert.True(PiiRedactor.Luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        Assert.False(PiiRedactor.Luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
    }
}
