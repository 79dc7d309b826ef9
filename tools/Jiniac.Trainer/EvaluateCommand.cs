using System.Runtime.InteropServices;
using Jiniac.Formats.Megatron;
using Jiniac.Modeling;
using Jiniac.Text.Bpe;
using Jiniac.Trainer.Evaluation;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Jiniac.Trainer;

/// <summary>One domain's line of results.json.</summary>
public sealed record DomainResult
{
    public required string Domain { get; init; }
    public required long Tokens { get; init; }
    public required long TextBytes { get; init; }
    public required double Loss { get; init; }
    public required double Perplexity { get; init; }
    public required double? BitsPerByte { get; init; }
}

public sealed record EvalResults
{
    public required IReadOnlyList<DomainResult> Results { get; init; }
    public IReadOnlyList<TaskResult> Tasks { get; init; } = [];
    public IReadOnlyList<GenerationResult> Generations { get; init; } = [];
}

/// <summary>
/// The evaluate verb: per domain, the prefixes' token streams back to back, cut into
/// non-overlapping windows of context_length (the last partial window too), every token after the
/// first of its window scored. tokens = scored tokens; loss = mean NLL in nats.
/// </summary>
public sealed class EvaluateCommand(EvalJob job, ILogger logger)
{
    public int Run()
    {
        if (job.ContextLength < 2 || job.BatchSize <= 0 || (job.Sets.Count == 0 && job.Tasks.Count == 0 && job.Generations.Count == 0))
        {
            throw new InvalidDataException("context_length must be ≥ 2, batch_size > 0 and at least one set, task or generation given");
        }

        if ((job.Tasks.Count > 0 || job.Generations.Count > 0) && string.IsNullOrEmpty(job.Tokenizer))
        {
            throw new InvalidDataException("tasks and generation need \"tokenizer\" (the model's tokenizer.json)");
        }

        torch.set_num_threads(job.Threads > 0 ? job.Threads : Environment.ProcessorCount);
        using var model = LlamaForCausalLM.Load(job.Checkpoint);
        if (job.ContextLength > model.Config.MaxPositionEmbeddings)
        {
            throw new InvalidDataException($"context_length {job.ContextLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        }

        var results = new List<DomainResult>(job.Sets.Count);
        foreach (var set in job.Sets)
        {
            var result = Evaluate(model, set);
            Log.DomainEvaluated(logger, result.Domain, result.Tokens, result.Loss, result.Perplexity, result.BitsPerByte);
            results.Add(result);
        }

        var output = Path.GetFullPath(job.Output);
        var folder = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(folder);
        var tasks = new List<TaskResult>(job.Tasks.Count);
        List<GenerationResult> generations = [];
        if (job.Tasks.Count > 0 || job.Generations.Count > 0)
        {
            var runner = new TaskRunner(new ModelScorer(model, BpeTokenizer.FromFile(job.Tokenizer!)), logger);
            foreach (var task in job.Tasks)
            {
                tasks.Add(runner.Run(task, folder));
            }

            foreach (var generation in job.Generations)
            {
                generations.AddRange(runner.Generate(generation));
            }
        }

        JobJson.WriteAtomically(output, new EvalResults { Results = results, Tasks = tasks, Generations = generations });
        return 0;
    }

    private DomainResult Evaluate(LlamaForCausalLM model, EvalSet set)
    {
        var datasets = new List<IndexedDataset>(set.Prefixes.Count);
        try
        {
            long available = 0;
            foreach (var prefix in set.Prefixes)
            {
                var d = IndexedDataset.Open(prefix);
                datasets.Add(d);
                available += d.TotalTokens;
            }

            var used = job.MaxTokensPerDomain > 0 ? Math.Min(available, job.MaxTokensPerDomain) : available;
            var stream = new ConcatenatedTokens(datasets, model.Config.VocabSize);
            var window = job.ContextLength;
            double nats = 0;
            long scored = 0;
            using var _ = no_grad();
            using var fullBatch = empty([job.BatchSize, window], ScalarType.Int64);
            var ids = MemoryMarshal.Cast<byte, long>(fullBatch.bytes);
            long position = 0;
            while (used - position >= window)
            {
                var rows = (int)Math.Min(job.BatchSize, (used - position) / window);
                stream.Read(position, ids[..(rows * window)]);
                position += (long)rows * window;
                using var scope = NewDisposeScope();
                var nll = model.TokenNll(fullBatch.narrow(0, 0, rows));
                nats += nll.sum(ScalarType.Float64).item<double>();
                scored += (long)rows * (window - 1);
            }

            var rest = (int)(used - position);
            if (rest >= 2)
            {
                using var scope = NewDisposeScope();
                var tail = empty([1, rest], ScalarType.Int64);
                stream.Read(position, MemoryMarshal.Cast<byte, long>(tail.bytes));
                nats += model.TokenNll(tail).sum(ScalarType.Float64).item<double>();
                scored += rest - 1;
            }

            var loss = scored > 0 ? nats / scored : double.NaN;
            // Only the share of the domain that was scored counts against its bytes.
            var textBytes = available > 0 && used < available ? (long)Math.Round(set.TextBytes * ((double)used / available)) : set.TextBytes;
            double? bitsPerByte = textBytes > 0 && scored > 0 ? loss * scored / Math.Log(2) / textBytes : null;
            return new DomainResult
            {
                Domain = set.Domain,
                Tokens = scored,
                TextBytes = textBytes,
                Loss = loss,
                Perplexity = Math.Exp(loss),
                BitsPerByte = bitsPerByte,
            };
        }
        finally
        {
            foreach (var d in datasets)
            {
                d.Dispose();
            }
        }
    }

    /// <summary>Several datasets' .bin streams read as one.</summary>
    private sealed class ConcatenatedTokens(IReadOnlyList<IndexedDataset> datasets, int vocabSize)
    {
        private int[] _scratch = [];

        public void Read(long offset, Span<long> destination)
        {
            if (_scratch.Length < destination.Length)
            {
                _scratch = new int[destination.Length];
            }

            var filled = 0;
            foreach (var d in datasets)
            {
                if (filled == destination.Length)
                {
                    break;
                }

                if (offset >= d.TotalTokens)
                {
                    offset -= d.TotalTokens;
                    continue;
                }

                var take = (int)Math.Min(destination.Length - filled, d.TotalTokens - offset);
                d.ReadTokens(offset, _scratch.AsSpan(filled, take));
                filled += take;
                offset = 0;
            }

            if (filled != destination.Length)
            {
                throw new InvalidOperationException("read past the end of the domain's tokens");
            }

            for (var i = 0; i < filled; i++)
            {
                if ((uint)_scratch[i] >= (uint)vocabSize)
                {
                    throw new InvalidDataException($"token id {_scratch[i]} is outside the vocabulary of {vocabSize}");
                }

                destination[i] = _scratch[i];
            }
        }
    }
}
