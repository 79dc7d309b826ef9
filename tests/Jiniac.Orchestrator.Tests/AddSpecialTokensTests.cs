using Jiniac.Contracts;

namespace Jiniac.Orchestrator.Tests;

/// <summary>tokenizer.add_special_tokens travels from the pipeline spec to every TokenizeShards of every stage.</summary>
public sealed class AddSpecialTokensTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    private OrchestratorHost Host => fixture.Host;

    [Theory]
    [InlineData("special-on", true)]
    [InlineData("special-off", false)]
    public async Task Every_shard_to_tokenize_carries_the_pipelines_add_special_tokens(string run, bool add)
    {
        var spec = Pipelines.TwoStages(run);
        var s = await Drive.ToFirstStageTrainingAsync(Host, run, spec with { Tokenizer = spec.Tokenizer with { AddSpecialTokens = add } });
        await Host.Publish(s.SourceIngested("ja", "pages", s.PagesTrain, s.PagesEval));
        await Host.Commands.WaitForAsync<TokenizeRequest>(c => c.RunId == run && c.Stage == "ja", 2);

        var commands = Host.Commands.Of<TokenizeRequest>(c => c.RunId == run);
        Assert.Equal(s.En.Count + 2, commands.Count);
        Assert.All(commands, c => Assert.Equal(add, c.AddSpecialTokens));
    }
}
