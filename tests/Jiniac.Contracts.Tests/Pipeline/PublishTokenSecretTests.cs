using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>publish.token_secret: the Dapr secret store entry holding the hub token.</summary>
public sealed class PublishTokenSecretTests
{
    [Fact]
    public void Left_out_there_is_none_and_given_it_is_read()
    {
        using var files = new PipelineFiles();
        Assert.Null(files.Load().Publish!.TokenSecret);

        using var given = new PipelineFiles();
        var publish = given.Insert(25, "  endpoint: https://huggingface.co", "  token_secret:", "    store: hub-secrets", "    key: hf/token").Load().Publish!;
        Assert.Equal(new DaprSecretSpec { Store = "hub-secrets", Key = "hf/token" }, publish.TokenSecret);
        Assert.Null(publish.TokenFile);
    }

    [Theory]
    [InlineData("  token_secret: {key: k}", 25, 3, "publish.token_secret.store", "is required but missing")]
    [InlineData("  token_secret: {store: s}", 25, 3, "publish.token_secret.key", "is required but missing")]
    [InlineData("  token_secret: {store: 'a b', key: k}", 25, 25, "publish.token_secret.store", "'a b' is not a Dapr component name")]
    [InlineData("  token_secret: {store: s, key: k, kee: x}", 25, 36, "publish.token_secret.kee", "unknown key 'kee'")]
    [InlineData("  token_secret: hub-secrets", 25, 17, "publish.token_secret", "must be a mapping")]
    public void A_bad_value_is_reported_at_its_line_and_path(string text, int line, int column, string path, string message)
    {
        using var files = new PipelineFiles();
        var error = files.Insert(25, text).Error();

        Assert.Equal((path, line, column), (error.Path, error.Line, error.Column));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void With_token_file_too_it_is_refused_as_two_token_sources()
    {
        using var files = new PipelineFiles();
        files.Folder.Write("hf-token", "hf_xxx\n");
        var error = files.Insert(25, "  token_file: hf-token", "  token_secret: {store: s, key: k}").Error();

        Assert.Equal(("publish.token_secret", 26), (error.Path, error.Line));
        Assert.Contains("token_file or token_secret, not both", error.Message);
    }
}
