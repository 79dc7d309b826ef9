using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Contracts;
using Jiniac.Formats.HuggingFace;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Evaluator;

/// <summary>
/// Renders EVAL.json into the checkpoint's eval folder, runs <c>&lt;trainer&gt; evaluate --job EVAL.json</c>
/// and reports results.json. The same job evaluated before (EVAL.done holds its hash) is reported again
/// without rerunning, so a lost EvaluationCompleted costs nothing.
/// </summary>
public sealed class EvaluateCheckpointConsumer(
    IOptions<EvaluatorOptions> options,
    StatePaths paths,
    IBlobStore blobs,
    ILogger<EvaluateCheckpointConsumer> logger) : IConsumer<EvaluateCheckpoint>
{
    public const string JobFile = "EVAL.json";
    public const string ResultsFile = "results.json";
    public const string DoneFile = "EVAL.done";
    public const string LogFile = "evaluate.log";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public const string RecordFile = "evaluation.json";
    private static readonly JsonSerializerOptions ReadJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public async Task Consume(ConsumeContext<EvaluateCheckpoint> context)
    {
        var message = context.Message;
        try
        {
            var record = await EvaluateAsync(message, context.CancellationToken);
            await context.Publish(new EvaluationCompleted
            {
                RunId = message.RunId,
                Stage = message.Stage,
                Step = message.Step,
                Results = record.Results,
                Metrics = record.Metrics,
                Generations = record.Generations,
            }, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is EvaluationException or IOException or ArgumentException or JsonException or InvalidOperationException or UnauthorizedAccessException or InvalidDataException)
        {
            Log.Failed(logger, message.RunId, message.Stage, message.Step, e.Message, e is EvaluationException ? null : e);
            await context.Publish(new EvaluationFailed { RunId = message.RunId, Stage = message.Stage, Step = message.Step, Reason = e.Message }, context.CancellationToken);
        }
    }

    private async Task<EvaluationRecord> EvaluateAsync(EvaluateCheckpoint message, CancellationToken cancellationToken)
    {
        var dir = paths.EvalDir(message.RunId, message.Stage, message.Step);
        var checkpoint = Path.GetFullPath(message.CheckpointFolder);
        if (!File.Exists(Path.Combine(checkpoint, "COMPLETE")))
        {
            throw new EvaluationException($"checkpoint '{checkpoint}' is not a complete checkpoint");
        }

        if ((message.Sets.Count == 0 && message.Suites.Count == 0) || message.ContextLength <= 0)
        {
            throw new EvaluationException("nothing to evaluate: no held-out sets or suites, or no context length");
        }

        var sets = new List<EvalJobSet>(message.Sets.Count);
        foreach (var set in message.Sets)
        {
            var prefixes = new List<string>(set.Prefixes.Count);
            foreach (var prefix in set.Prefixes)
            {
                prefixes.Add(await LocalPrefixAsync(prefix, cancellationToken));
            }

            sets.Add(new EvalJobSet { Domain = set.Domain, Prefixes = prefixes, TextBytes = set.TextBytes });
        }

        string? tokenizer = null;
        if (message.Suites.Count > 0)
        {
            if (message.TokenizerBlob is null)
            {
                throw new EvaluationException($"suite '{message.Suites[0].Name}' needs the run's tokenizer, and the request names none");
            }

            tokenizer = await LocalBlobAsync(message.TokenizerBlob, cancellationToken);
        }

        Directory.CreateDirectory(dir);
        var job = new EvalJob
        {
            Checkpoint = checkpoint,
            ContextLength = message.ContextLength,
            MaxTokensPerDomain = message.MaxTokensPerDomain,
            Sets = sets,
            Output = Path.Combine(dir, ResultsFile),
            Threads = options.Value.Threads,
            Tokenizer = tokenizer,
            Tasks = SuiteJobs.Tasks(message.Suites),
            Generations = SuiteJobs.Generations(message.Suites),
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(job, Json);
        // The harnesses are part of what was asked: a changed command is a new evaluation.
        var identity = JsonSerializer.SerializeToUtf8Bytes(new { job, harnesses = message.Suites.Select(s => s.Harness) }, Json);
        var hash = Convert.ToHexStringLower(SHA256.HashData(identity));
        var resultsPath = Path.Combine(dir, ResultsFile);
        var recordPath = Path.Combine(dir, RecordFile);
        var donePath = Path.Combine(dir, DoneFile);
        if (File.Exists(recordPath) && File.Exists(donePath) && string.Equals(File.ReadAllText(donePath).Trim(), hash, StringComparison.Ordinal))
        {
            var earlier = JsonSerializer.Deserialize<EvaluationRecord>(File.ReadAllBytes(recordPath), ReadJson)
                ?? throw new EvaluationException($"{RecordFile} is empty");
            Log.AlreadyDone(logger, message.RunId, message.Stage, message.Step);
            return earlier;
        }

        File.Delete(donePath);
        File.Delete(resultsPath);
        File.Delete(recordPath);
        List<DomainEvaluation> results = [];
        var metrics = new List<EvaluationMetric>();
        var generations = new List<GenerationSample>();
        if (sets.Count > 0 || job.Tasks.Count > 0 || job.Generations.Count > 0)
        {
            var jobPath = Path.Combine(dir, JobFile);
            AtomicFile.Write(jobPath, bytes);
            Log.Evaluating(logger, message.RunId, message.Stage, message.Step, sets.Count);
            var logPath = Path.Combine(dir, LogFile);
            var exitCode = await EvaluationProcess.RunAsync(options.Value, jobPath, dir, logPath, cancellationToken);
            if (exitCode != 0 || !File.Exists(resultsPath))
            {
                var what = exitCode != 0 ? $"evaluate exited with code {exitCode.ToString(CultureInfo.InvariantCulture)}" : "evaluate exited 0 without writing results.json";
                throw new EvaluationException($"{what}; last lines of {LogFile}:\n{LogTail.Read(logPath, options.Value.LogTailLines)}");
            }

            var parsed = JsonSerializer.Deserialize<EvalResults>(File.ReadAllBytes(resultsPath), ReadJson)
                ?? throw new EvaluationException("results.json is empty");
            results = ReadResults(parsed, message.Sets);
            foreach (var r in results)
            {
                Add(metrics, "perplexity/" + r.Domain, r.Perplexity);
                Add(metrics, "bits_per_byte/" + r.Domain, r.BitsPerByte);
                Add(metrics, "loss/" + r.Domain, r.Loss);
            }

            SuiteJobs.Collect(parsed, job, metrics, generations);
        }

        foreach (var suite in message.Suites)
        {
            if (suite.Harness is not { } harness)
            {
                continue;
            }

            var work = Path.Combine(dir, "harness", suite.Name);
            Directory.CreateDirectory(work);
            var modelDir = Path.Combine(work, "model");
            HuggingFaceExport.Write(checkpoint, await File.ReadAllBytesAsync(tokenizer!, cancellationToken), modelDir);
            Log.RunningHarness(logger, message.RunId, message.Stage, message.Step, suite.Name);
            foreach (var (name, value) in await HarnessRunner.RunAsync(harness, suite.Name, modelDir, tokenizer!, work, options.Value.LogTailLines, cancellationToken))
            {
                Add(metrics, $"{suite.Name}/{name}", value);
            }
        }

        var record = new EvaluationRecord { Results = results, Metrics = metrics, Generations = generations };
        AtomicFile.Write(recordPath, JsonSerializer.SerializeToUtf8Bytes(record, Json));
        AtomicFile.Write(donePath, Encoding.ASCII.GetBytes(hash));
        Log.Evaluated(logger, message.RunId, message.Stage, message.Step);
        return record;
    }

    private static void Add(List<EvaluationMetric> metrics, string name, double value)
    {
        // A metric without a value (a stderr of one document) has nothing to report or gate on.
        if (double.IsFinite(value))
        {
            metrics.Add(new EvaluationMetric { Name = name, Value = value });
        }
    }

    /// <summary>results.json in the order the sets were asked for; a missing domain or a non-number is a failure, not a result.</summary>
    private static List<DomainEvaluation> ReadResults(EvalResults file, IReadOnlyList<EvalSet> asked)
    {
        var parsed = file.Results ?? throw new EvaluationException("results.json has no \"results\" array");
        var results = new List<DomainEvaluation>(asked.Count);
        foreach (var set in asked)
        {
            EvalResult? found = null;
            foreach (var result in parsed)
            {
                if (string.Equals(result.Domain, set.Domain, StringComparison.Ordinal))
                {
                    found = result;
                    break;
                }
            }

            if (found is null)
            {
                throw new EvaluationException($"results.json has no result for domain '{set.Domain}'");
            }

            if (!double.IsFinite(found.Loss) || found.Tokens <= 0)
            {
                throw new EvaluationException($"results.json has no usable result for domain '{set.Domain}' (tokens {found.Tokens}, loss {found.Loss})");
            }

            results.Add(new DomainEvaluation
            {
                Domain = set.Domain,
                Tokens = found.Tokens,
                TextBytes = found.TextBytes,
                Loss = found.Loss,
                Perplexity = found.Perplexity,
                BitsPerByte = found.BitsPerByte,
            });
        }

        return results;
    }

    private async Task<string> LocalBlobAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await blobs.GetLocalPathAsync(key, cancellationToken);
        }
        catch (BlobNotFoundException e)
        {
            throw new EvaluationException(e.Message);
        }
    }

    /// <summary>The evaluator reads .bin/.idx pairs by prefix, so both must sit side by side locally.</summary>
    private async Task<string> LocalPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        string bin, idx;
        try
        {
            bin = await blobs.GetLocalPathAsync(prefix + ".bin", cancellationToken);
            idx = await blobs.GetLocalPathAsync(prefix + ".idx", cancellationToken);
        }
        catch (BlobNotFoundException e)
        {
            throw new EvaluationException(e.Message);
        }

        var local = bin[..^".bin".Length];
        return string.Equals(idx, local + ".idx", StringComparison.Ordinal)
            ? local
            : throw new EvaluationException($"the blob store put {prefix}.bin and {prefix}.idx in different places");
    }

}

/// <summary>A failure whose message is the whole story (the reason EvaluationFailed carries).</summary>
internal sealed class EvaluationException(string message) : Exception(message);
