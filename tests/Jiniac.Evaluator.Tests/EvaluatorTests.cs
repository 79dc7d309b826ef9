using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Formats.Megatron;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.Evaluator.Tests;

/// <summary>The evaluator through a real host and bus, running ContractTrainer.sh's evaluate verb as a child process.</summary>
public sealed class EvaluatorTests : IAsyncLifetime
{
    private const string RunId = "run-1";
    private const string Stage = "en-web";
    private readonly TempFolder _temp = new();
    private ServiceHost _host = null!;
    private string _checkpoint = "";

    public async Task InitializeAsync()
    {
        _host = await StartHostAsync(new Dictionary<string, string?>());
        _checkpoint = Path.Combine(_temp.Path, "checkpoint");
        Directory.CreateDirectory(_checkpoint);
        await File.WriteAllTextAsync(Path.Combine(_checkpoint, "COMPLETE"), "");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _temp.Dispose();
    }

    private async Task<ServiceHost> StartHostAsync(Dictionary<string, string?> extra)
    {
        var trainer = Path.Combine(_temp.Path, "ContractTrainer.sh");
        if (!File.Exists(trainer))
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "ContractTrainer.sh"), trainer);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(trainer, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        extra["Evaluator:Trainer"] = trainer;
        return await ServiceHost.StartAsync(_temp.Path, extra, b => b.AddEvaluatorService(), typeof(EvaluationCompleted), typeof(EvaluationFailed));
    }

    /// <summary>A real Megatron dataset in the blob store (int32 tokens: the evaluator must read the dtype to count them).</summary>
    private async Task PutDatasetAsync(string key, int documents, int length)
    {
        var local = Path.Combine(_temp.Path, Path.GetFileName(key));
        using (var writer = new IndexedDatasetWriter(local, IndexedDatasetDType.Int32))
        {
            var tokens = new int[length];
            for (var d = 0; d < documents; d++)
            {
                tokens.AsSpan().Fill(d + 1);
                writer.AddDocument(tokens);
            }

            writer.Complete();
        }

        await _host.Blobs.PutFileAsync(key + ".bin", local + ".bin", move: false, CancellationToken.None);
        await _host.Blobs.PutFileAsync(key + ".idx", local + ".idx", move: false, CancellationToken.None);
    }

    private EvaluateCheckpoint Command(long maxTokens = 0) => new()
    {
        RunId = RunId,
        Stage = Stage,
        Step = 40,
        CheckpointFolder = _checkpoint,
        ContextLength = 16,
        Sets =
        [
            new EvalSet { Domain = "moby", Prefixes = ["eval/moby-a", "eval/moby-b"], TextBytes = 4000 },
            new EvalSet { Domain = "law", Prefixes = ["eval/law-a"], TextBytes = 900 },
        ],
        MaxTokensPerDomain = maxTokens,
    };

    private Task SendAsync<T>(T command) where T : class => _host.Sender.SendAsync(command, CancellationToken.None);

    [Fact]
    public async Task The_results_json_of_the_evaluate_verb_comes_back_per_domain()
    {
        await PutDatasetAsync("eval/moby-a", documents: 3, length: 100);
        await PutDatasetAsync("eval/moby-b", documents: 2, length: 50);
        await PutDatasetAsync("eval/law-a", documents: 1, length: 64);

        await SendAsync(Command());
        var completed = await _host.Events.WaitForAsync<EvaluationCompleted>();

        Assert.Equal((RunId, Stage, 40L), (completed.RunId, completed.Stage, completed.Step));
        Assert.Equal(["moby", "law"], completed.Results.Select(r => r.Domain));
        var moby = completed.Results[0];
        Assert.Equal(3 * 100 + 2 * 50, moby.Tokens);
        Assert.Equal(4000, moby.TextBytes);
        var law = completed.Results[1];
        Assert.Equal(64, law.Tokens);
        Assert.Equal(900, law.TextBytes);

        // The event carries what results.json says, and EVAL.json names the materialised prefixes.
        var dir = _host.Paths.EvalDir(RunId, Stage, 40);
        using var results = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "results.json")));
        var mobyJson = results.RootElement.GetProperty("results")[0];
        Assert.Equal(mobyJson.GetProperty("loss").GetDouble(), moby.Loss);
        Assert.Equal(mobyJson.GetProperty("perplexity").GetDouble(), moby.Perplexity);
        Assert.Equal(mobyJson.GetProperty("bits_per_byte").GetDouble(), moby.BitsPerByte);
        using var job = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "EVAL.json")));
        var bin = await _host.Blobs.GetLocalPathAsync("eval/law-a.bin", CancellationToken.None);
        Assert.Equal(bin[..^4], job.RootElement.GetProperty("sets")[1].GetProperty("prefixes")[0].GetString());
        Assert.Equal(16, job.RootElement.GetProperty("context_length").GetInt32());
        Assert.Equal(Path.Combine(dir, "results.json"), job.RootElement.GetProperty("output").GetString());
    }

    [Fact]
    public async Task A_capped_domain_reports_the_scaled_text_bytes_the_evaluator_wrote()
    {
        await PutDatasetAsync("eval/moby-a", documents: 3, length: 100);
        await PutDatasetAsync("eval/moby-b", documents: 2, length: 50);
        await PutDatasetAsync("eval/law-a", documents: 1, length: 64);

        await SendAsync(Command(maxTokens: 200));
        var completed = await _host.Events.WaitForAsync<EvaluationCompleted>();

        Assert.Equal(200, completed.Results[0].Tokens);
        Assert.Equal(2000, completed.Results[0].TextBytes);
        Assert.Equal(64, completed.Results[1].Tokens);
    }

    [Fact]
    public async Task The_same_evaluation_again_is_republished_without_rerunning()
    {
        await PutDatasetAsync("eval/moby-a", documents: 3, length: 100);
        await PutDatasetAsync("eval/moby-b", documents: 2, length: 50);
        await PutDatasetAsync("eval/law-a", documents: 1, length: 64);
        await SendAsync(Command());
        var first = await _host.Events.WaitForAsync<EvaluationCompleted>();
        var log = Path.Combine(_host.Paths.EvalDir(RunId, Stage, 40), "evaluate.log");
        var logBefore = await File.ReadAllTextAsync(log);

        await SendAsync(Command());
        await WaitForCountAsync<EvaluationCompleted>(2);

        var second = _host.Events.Of<EvaluationCompleted>()[1];
        Assert.Equal(first.Results, second.Results);
        Assert.Equal(logBefore, await File.ReadAllTextAsync(log));
    }

    [Fact]
    public async Task A_failing_evaluator_gives_EvaluationFailed_with_its_log_tail()
    {
        await _host.DisposeAsync();
        _host = await StartHostAsync(new Dictionary<string, string?> { ["Evaluator:Environment:CONTRACT_TRAINER_EXIT_CODE"] = "4" });
        await PutDatasetAsync("eval/moby-a", documents: 1, length: 10);
        await PutDatasetAsync("eval/moby-b", documents: 1, length: 10);
        await PutDatasetAsync("eval/law-a", documents: 1, length: 10);

        await SendAsync(Command());
        var failed = await _host.Events.WaitForAsync<EvaluationFailed>();

        Assert.Equal(40, failed.Step);
        Assert.Contains("code 4", failed.Reason);
        Assert.Contains("failing on purpose with 4", failed.Reason);
        Assert.Empty(_host.Events.Of<EvaluationCompleted>());
    }

    [Fact]
    public async Task A_missing_dataset_or_incomplete_checkpoint_gives_EvaluationFailed()
    {
        await SendAsync(Command());
        var missing = await _host.Events.WaitForAsync<EvaluationFailed>();
        Assert.Contains("eval/moby-a.bin", missing.Reason);

        File.Delete(Path.Combine(_checkpoint, "COMPLETE"));
        await SendAsync(Command() with { Step = 41 });
        var incomplete = await _host.Events.WaitForAsync<EvaluationFailed>(f => f.Step == 41);
        Assert.Contains("not a complete checkpoint", incomplete.Reason);
    }

    private async Task WaitForCountAsync<T>(int count)
    {
        await _host.Events.WaitForAsync<T>(_ => _host.Events.Of<T>().Count >= count);
    }
}
