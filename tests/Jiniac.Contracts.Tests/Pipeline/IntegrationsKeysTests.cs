using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>integrations.webhooks: the example in docs/pipeline-reference.md loads, and bad values are refused by line.</summary>
public sealed class IntegrationsKeysTests
{
    [Fact]
    public void The_reference_docs_integrations_example_loads()
    {
        using var files = new PipelineFiles();
        files.Folder.Write("secrets/leaderboard.hmac", "k\n");
        files.Insert(43, [.. ReferenceDoc.YamlAfter("## `integrations`").TrimEnd('\n').Split('\n')]);
        var hooks = files.Load().Integrations!.Webhooks;

        Assert.Equal(["leaderboard", "slack-bot"], hooks.Select(h => h.Name));
        Assert.Equal(("https://leaderboard.example.org/hooks/jiniac", 5, files.Folder.PathOf("secrets/leaderboard.hmac")), (hooks[0].Url, hooks[0].MaxAttempts, hooks[0].SecretFile));
        Assert.Equal(["CheckpointSaved", "ModelPublished"], hooks[0].Events);
        Assert.Equal(("SLACK_BOT_WEBHOOK_SECRET", 8, 0), (hooks[1].SecretEnv, hooks[1].MaxAttempts, hooks[1].Events.Count));
    }

    [Fact]
    public void Without_the_key_there_are_none()
    {
        using var files = new PipelineFiles();
        Assert.Null(files.Load().Integrations);
    }

    [Fact]
    public void Bad_webhooks_are_refused_with_their_lines()
    {
        using var files = new PipelineFiles();
        files.Insert(43,
            "integrations:",                                   // 43
            "  webhooks:",                                     // 44
            "    - name: a",                                   // 45
            "      url: ftp://example.org/x",                  // 46
            "      events: [CheckpointSavd, ModelPublished, ShardTokenized]",  // 47
            "      secret_env: BAD-NAME",                      // 48
            "    - name: a",                                   // 49
            "      url: https://example.org/y",                // 50
            "      secret_file: missing.key",                  // 51
            "      max_attempts: 0",                           // 52
            "    - name: c",                                   // 53
            "      url: https://example.org/z",                // 54
            "      secret_file: missing.key",                  // 55
            "      secret_env: X",                             // 56
            "      colour: blue",                              // 57
            "    - name: d",                                   // 58
            "      url: https://example.org/d");               // 59
        var errors = files.Errors();
        Assert.Contains(errors, e => e.Line == 46 && e.Path == "integrations.webhooks[0].url" && e.Message.Contains("ftp://example.org/x"));
        Assert.Contains(errors, e => e.Line == 47 && e.Path == "integrations.webhooks[0].events[0]" && e.Message.Contains("did you mean 'CheckpointSaved'"));
        // The per-shard event that ShardsTokenized replaced: a filter still naming it is pointed to the new name.
        Assert.Contains(errors, e => e.Line == 47 && e.Path == "integrations.webhooks[0].events[2]" && e.Message.Contains("did you mean 'ShardsTokenized'"));
        Assert.Contains(errors, e => e.Line == 48 && e.Path == "integrations.webhooks[0].secret_env");
        Assert.Contains(errors, e => e.Line == 49 && e.Path == "integrations.webhooks[1].name" && e.Message.Contains("defined twice"));
        Assert.Contains(errors, e => e.Line == 51 && e.Path == "integrations.webhooks[1].secret_file" && e.Message.Contains("does not exist"));
        Assert.Contains(errors, e => e.Line == 52 && e.Path == "integrations.webhooks[1].max_attempts");
        Assert.Contains(errors, e => e.Line == 56 && e.Path == "integrations.webhooks[2].secret_env" && e.Message.Contains("not both"));
        Assert.Contains(errors, e => e.Line == 57 && e.Path == "integrations.webhooks[2].colour");
        Assert.Contains(errors, e => e.Path == "integrations.webhooks[3].secret_file" && e.Message.Contains("a webhook is signed"));
        Assert.All(errors, e => Assert.StartsWith("integrations.", e.Path));
    }
}
