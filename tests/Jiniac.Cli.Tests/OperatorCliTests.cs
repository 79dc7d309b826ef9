using System.Text.Json;
using Grpc.Core;
using Jiniac.Orchestrator.Control;
using Microsoft.AspNetCore.Builder;

namespace Jiniac.Cli.Tests;

/// <summary>
/// The operator verbs against a real orchestrator by address (--endpoint), with API keys on: exit codes, --json, the
/// role split as the CLI sees it. The host issues no work (no workers), so runs stay where the test puts them.
/// </summary>
[Collection(nameof(IngestCommandTests))] // Console.Out is redirected
public sealed class OperatorCliTests : IAsyncLifetime
{
    private const string ViewerKey = "viewer-key-for-cli-tests";
    private const string OperatorKey = "operator-key-for-cli-tests";
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-cli-ops-").FullName;
    private WebApplication _host = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        _host = EmbeddedHost.Build(Path.Combine(_dir, "state"), workers: false, new Dictionary<string, string?>
        {
            ["Control:ApiKeys:viewer:Hash"] = ApiKeyRing.HashOf(ViewerKey),
            ["Control:ApiKeys:viewer:Role"] = "viewer",
            ["Control:ApiKeys:ops:Hash"] = ApiKeyRing.HashOf(OperatorKey),
            ["Control:ApiKeys:ops:Role"] = "operator",
        });
        await _host.StartAsync();
        _url = _host.Urls.First();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Keys_decide_what_the_CLI_may_do_and_the_exit_code_says_why_not()
    {
        var noKey = await CliRun.RunAsync("status", "--endpoint", _url);
        Assert.Equal(4, noKey.Code);
        Assert.Contains("--api-key", noKey.Out);
        Assert.Equal(4, (await CliRun.RunAsync("status", "--endpoint", _url, "--api-key", "wrong")).Code);

        var empty = await CliRun.RunAsync("status", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal(0, empty.Code);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(empty.Out).RootElement.GetProperty("runs").ValueKind);

        var denied = await CliRun.RunAsync("cancel", "no-such-run", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal(4, denied.Code);
        Assert.Contains("key 'viewer' has role viewer", denied.Out);
        var missing = await CliRun.RunAsync("cancel", "no-such-run", "--endpoint", _url, "--api-key", OperatorKey);
        Assert.Equal(3, missing.Code);
        Assert.Contains("run 'no-such-run' does not exist", missing.Out);

        Assert.Equal(3, (await CliRun.RunAsync("status", "--endpoint", "http://127.0.0.1:1", "--api-key", ViewerKey)).Code);
        Assert.Equal(2, (await CliRun.RunAsync("status", "--endpoint", "ftp://example")).Code);
    }

    [Fact]
    public async Task Submit_returns_at_once_and_the_read_and_write_verbs_answer_for_the_run()
    {
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "name: bad\nstages: 3\n");
        var refused = await CliRun.RunAsync("submit", bad, "--endpoint", _url, "--api-key", OperatorKey);
        Assert.Equal(2, refused.Code);
        Assert.Contains("bad.yaml:", refused.Out);

        var pipeline = Path.Combine(RepoRoot(), "examples", "quickstart", "pipeline.yaml");
        var submitted = await CliRun.RunAsync("submit", pipeline, "--run-id", "cli-ops", "--json", "--endpoint", _url, "--api-key", OperatorKey);
        Assert.True(submitted.Code == 0, submitted.Out);
        var reply = JsonDocument.Parse(submitted.Out).RootElement;
        Assert.Equal(("cli-ops", true), (reply.GetProperty("runId").GetString(), reply.GetProperty("created").GetBoolean()));

        var status = await CliRun.RunAsync("status", "cli-ops", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.True(status.Code == 0, status.Out);
        var view = JsonDocument.Parse(status.Out).RootElement;
        Assert.Equal(["en-prose", "ja-web", "ja-docs"], view.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(JsonValueKind.Array, view.GetProperty("alerts").ValueKind);

        var checkpoints = await CliRun.RunAsync("checkpoints", "cli-ops", "ja-web", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.True(checkpoints.Code == 0, checkpoints.Out);
        Assert.Equal("ja-web", JsonDocument.Parse(checkpoints.Out).RootElement.GetProperty("stages")[0].GetProperty("stage").GetString());
        Assert.Equal(3, (await CliRun.RunAsync("checkpoints", "cli-ops", "no-stage", "--endpoint", _url, "--api-key", ViewerKey)).Code);

        // Refusals the orchestrator explains: exit 2 with its reason; what is not there: exit 3.
        var replay = await CliRun.RunAsync("replay", "cli-ops", "en-prose", "--from-checkpoint", "4", "--skip-batches", "5:7", "--endpoint", _url, "--api-key", OperatorKey);
        Assert.Equal(2, replay.Code);
        Assert.Contains("has not started", replay.Out);
        Assert.Equal(2, (await CliRun.RunAsync("replay", "cli-ops", "en-prose", "--skip-batches", "7:5", "--endpoint", _url, "--api-key", OperatorKey)).Code);
        Assert.Equal(2, (await CliRun.RunAsync("publish", "cli-ops", "en-prose/x", "--endpoint", _url, "--api-key", OperatorKey)).Code);
        Assert.Equal(2, (await CliRun.RunAsync("publish", "cli-ops", "en-prose/4", "--endpoint", _url, "--api-key", OperatorKey)).Code);
        var logs = await CliRun.RunAsync("logs", "cli-ops", "en-prose", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal(3, logs.Code);
        Assert.Contains("trainer.log", logs.Out);

        // A cancelled run: watch prints where it stands and exits 1, as a script waiting on it should see.
        Assert.Equal(0, (await CliRun.RunAsync("cancel", "cli-ops", "--reason", "test over", "--endpoint", _url, "--api-key", OperatorKey)).Code);
        var watch = await CliRun.RunAsync("watch", "cli-ops", "--plain", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal(1, watch.Code);
        Assert.Contains("run Cancelled", watch.Out);
        var watchJson = await CliRun.RunAsync("watch", "cli-ops", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal(1, watchJson.Code);
        var last = watchJson.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).Last(e => e.TryGetProperty("status", out _));
        Assert.Equal(("cli-ops", "Cancelled"), (last.GetProperty("runId").GetString(), last.GetProperty("status").GetString()));
        var journal = await CliRun.RunAsync("events", "cli-ops", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Contains("test over (by ops)", journal.Out);

        // Without RUN: every run's journal, each entry naming its run; --from RUN=CURSOR resumes that run after a cursor.
        var everything = (await CliRun.RunAsync("events", "--json", "--endpoint", _url, "--api-key", ViewerKey)).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ours = journal.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(ours, everything.Where(e => e.GetProperty("runId").GetString() == "cli-ops").Select(e => e.GetProperty("sequence").GetInt64()));
        var resumed = await CliRun.RunAsync("events", "--json", "--from", $"cli-ops={ours[^1]}", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal([ours[^1]], resumed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("runId").GetString() == "cli-ops").Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal(2, (await CliRun.RunAsync("events", "--from", "cli-ops", "--endpoint", _url, "--api-key", ViewerKey)).Code);


        // webhooks: the logs are viewer reads, a resend is an operator's; naming an event that is not a dead letter: exit 3.
        var deadLetters = await CliRun.RunAsync("webhooks", "dead-letters", "rabbitmq", "--json", "--endpoint", _url, "--api-key", ViewerKey);
        Assert.Equal((0, ""), (deadLetters.Code, deadLetters.Out.Trim()));
        Assert.Equal(4, (await CliRun.RunAsync("webhooks", "resend", "rabbitmq", "--endpoint", _url, "--api-key", ViewerKey)).Code);
        var resend = await CliRun.RunAsync("webhooks", "resend", "rabbitmq", "--json", "--endpoint", _url, "--api-key", OperatorKey);
        Assert.True(resend.Code == 0, resend.Out);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(resend.Out).RootElement.ValueKind);
        Assert.Equal(3, (await CliRun.RunAsync("webhooks", "resend", "rabbitmq", "--event", "cli-ops:0", "--endpoint", _url, "--api-key", OperatorKey)).Code);
        Assert.Equal(2, (await CliRun.RunAsync("webhooks", "purge", "rabbitmq", "--endpoint", _url, "--api-key", OperatorKey)).Code);
    }

    [Fact]
    public void Skip_ranges_sparklines_bars_and_exit_codes_are_what_the_docs_say()
    {
        var range = OperatorCommands.ParseRange("5:7");
        Assert.Equal((5L, 7L), (range.From, range.To));
        foreach (var bad in (string[])["7:5", "5", "a:b", "5:5", "-1:3"])
        {
            Assert.Equal(2, Assert.Throws<CliException>(() => OperatorCommands.ParseRange(bad)).ExitCode);
        }

        Assert.Equal("▁▅█", WatchCommand.Sparkline([1.0, 1.5, 2.0], 10));
        Assert.Equal("▅█▁", WatchCommand.Sparkline([9.0, 1.0, 1.5, 2.0, 1.0], 3)); // the last 3, scaled among themselves
        Assert.Equal("▁!█", WatchCommand.Sparkline([1.0, double.NaN, 2.0], 10));
        Assert.Equal("████░░░░", WatchCommand.Bar(50, 100, 8));
        Assert.Equal("░░░░", WatchCommand.Bar(1, 0, 4));
        Assert.Equal(4, Cli.ExitCodeOf(StatusCode.Unauthenticated).Code);
        Assert.Equal(4, Cli.ExitCodeOf(StatusCode.PermissionDenied).Code);
        Assert.Equal(3, Cli.ExitCodeOf(StatusCode.NotFound).Code);
        Assert.Equal(3, Cli.ExitCodeOf(StatusCode.Unavailable).Code);
        Assert.Equal(2, Cli.ExitCodeOf(StatusCode.FailedPrecondition).Code);
    }

    [Fact]
    public async Task A_new_key_is_printed_once_with_the_hash_the_orchestrator_is_configured_with()
    {
        var made = await CliRun.RunAsync("key", "new", "ci-bot", "--role", "operator");
        Assert.Equal(0, made.Code);
        var key = made.Out.Split('\n')[0]["key: ".Length..].Trim();
        Assert.StartsWith("jk_", key);
        Assert.Contains($"Control__ApiKeys__ci-bot__Hash={ApiKeyRing.HashOf(key)}", made.Out);
        Assert.Contains("Control__ApiKeys__ci-bot__Role=operator", made.Out);
        Assert.Equal(ApiKeyRing.HashOf(key), (await CliRun.RunAsync("key", "hash", key)).Out.Trim());
        Assert.Equal(2, (await CliRun.RunAsync("key", "new", "ci-bot", "--role", "admin")).Code);
    }

    [Fact]
    public void Every_verb_is_in_the_usage_and_has_a_row_in_docs_cli_md()
    {
        var rows = File.ReadAllLines(Path.Combine(RepoRoot(), "docs", "cli.md")).Where(l => l.StartsWith("| `", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(Cli.Commands);
        foreach (var verb in Cli.Commands.Keys)
        {
            Assert.Contains("jiniac " + verb, Cli.Usage);
            Assert.True(rows.Exists(r => r.Contains($"`{verb} ", StringComparison.Ordinal) || r.Contains($"`{verb}`", StringComparison.Ordinal)), $"docs/cli.md has no row for `{verb}`");
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jiniac.Platform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Jiniac.Platform.sln) is not above the test's folder");
    }
}
