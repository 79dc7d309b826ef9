namespace Jiniac.Cli.Tests;

/// <summary>`jiniac hub serve` refuses bad arguments before it serves anything (exit 2).</summary>
public sealed class HubCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-cli-hub-").FullName;

    [Theory]
    [InlineData("hub")]
    [InlineData("hub", "browse")]
    [InlineData("hub", "serve", "--port", "70000")]
    public async Task Without_serve_or_with_a_bad_port_it_prints_the_usage_and_exits_2(params string[] args) =>
        Assert.Equal(2, await Cli.MainAsync([.. args, "--dir", Path.Combine(_dir, "hub")]));

    [Fact]
    public async Task A_missing_token_file_or_one_without_an_hf_token_is_refused()
    {
        Assert.Equal(2, await Cli.MainAsync(["hub", "serve", "--dir", Path.Combine(_dir, "hub"), "--token-file", Path.Combine(_dir, "no-such-file")]));
        var token = Path.Combine(_dir, "token");
        File.WriteAllText(token, "not-a-hub-token\n");
        Assert.Equal(2, await Cli.MainAsync(["hub", "serve", "--dir", Path.Combine(_dir, "hub"), "--token-file", token]));
        Assert.False(Directory.Exists(Path.Combine(_dir, "hub")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
