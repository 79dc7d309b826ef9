using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>tokenizer.add_special_tokens: off unless given; only with a file that has a post-processor.</summary>
public sealed class TokenizerSpecialTokensKeyTests
{
    [Fact]
    public void Left_out_it_is_off_given_it_is_read()
    {
        using var files = new PipelineFiles();
        Assert.False(files.Load().Tokenizer.AddSpecialTokens);

        using var given = new PipelineFiles();
        var tokenizer = given.Remove(4, 6).Insert(4, "  path: tokenizer.json", "  add_special_tokens: true").Load().Tokenizer;
        Assert.True(tokenizer.AddSpecialTokens);
        Assert.Equal(given.Folder.PathOf("tokenizer.json"), tokenizer.Path);
    }

    [Theory]
    [InlineData("sp.model", "  add_special_tokens: true", "has no post-processor")]
    [InlineData("o200k_base.tiktoken", "  add_special_tokens: true", "has no post-processor")]
    [InlineData("tokenizer.json", "  add_special_tokens: sometimes", "must be true or false")]
    public void A_bad_use_is_reported_at_its_line_and_path(string file, string text, string message)
    {
        using var files = new PipelineFiles();
        files.Folder.Write(file, "x");
        var error = files.Remove(4, 6).Insert(4, $"  path: {file}", text).Error();

        Assert.Equal(("tokenizer.add_special_tokens", 5), (error.Path, error.Line));
        Assert.Contains(message, error.Message);
    }
}
