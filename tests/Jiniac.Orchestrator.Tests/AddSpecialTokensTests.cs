using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Tests;

/// <summary>tokenizer.add_special_tokens travels from the pipeline spec to every TokenizeShard of every stage.</summary>
public sealed class AddSpecialTokensTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    [Theory]
    [InlineData("special-on", true)]
    [InlineData("special-off", false)]
    public async Task Every_TokenizeShard_carries_the_pipelines_add_special_tokens(string run, bool add)
    {
        var spec = Pipelines.TwoStages(run);
        var s = await Drive.ToFirstStageTrainingAsync(Host, run, spec with { Tokenizer = spec.Tokenizer with { AddSpecialTokens = add } });
        await Host.Publish(s.SourceIngested("ja", "pages", s.PagesTrain, s.PagesEval));
        await Host.Commands.WaitForAsync<TokenizeShard>(c => c.RunId == run && c.Stage == "ja", 2);

        var commands = Host.Commands.Of<TokenizeShard>(c => c.RunId == run);
        Assert.Equal(s.En.Count + 2, commands.Count);
        Assert.All(commands, c => Assert.Equal(add, c.AddSpecialTokens));
    }
}
