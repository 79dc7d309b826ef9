using System.Text.Json;
using Jiniac.Formats.Megatron;

namespace Jiniac.Cli.Tests;

/// <summary>`jiniac tokenize`: the flags reach the encoder.</summary>
[Collection(nameof(IngestCommandTests))] // Console.Out is redirected, as there
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-cli-tokenize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<(int Code, string Out)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Add_special_tokens_puts_the_templates_bos_before_each_document()
    {
        // unigram-2000.json's TemplateProcessing puts <s> (id 1) first; </s> (id 2) is its end-of-document token.
        var tokenizer = Path.Combine(AppContext.BaseDirectory, "TestData", "unigram-2000.json");
        var input = Path.Combine(_dir, "docs.jsonl");
        await File.WriteAllTextAsync(input, JsonSerializer.Serialize(new { text = "Call me Ishmael." }) + "\n" + JsonSerializer.Serialize(new { text = "吾輩は猫である。" }) + "\n");

        var (plainCode, plainOut) = await RunAsync("tokenize", "--tokenizer", tokenizer, "--input", input, "--output-prefix", Path.Combine(_dir, "plain"), "--append-eod", "--workers", "1");
        var (code, stdout) = await RunAsync("tokenize", "--tokenizer", tokenizer, "--input", input, "--output-prefix", Path.Combine(_dir, "bos"), "--append-eod", "--add-special-tokens", "--workers", "1");

        Assert.True(plainCode == 0, plainOut);
        Assert.True(code == 0, stdout);
        using var plain = IndexedDataset.Open(Path.Combine(_dir, "plain_text_document"));
        using var bos = IndexedDataset.Open(Path.Combine(_dir, "bos_text_document"));
        Assert.Equal(2, bos.DocumentCount);
        for (var i = 0; i < 2; i++)
        {
            int[] expected = [1, .. plain.GetSequence(i)];
            Assert.NotEqual(1, plain.GetSequence(i)[0]);
            Assert.Equal(expected, bos.GetSequence(i));
        }
    }
}
