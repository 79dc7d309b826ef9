using System.Globalization;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.TrainLauncher.Megatron;

/// <summary>What a Megatron start looks like: its full command line and the iteration numbers it works in.</summary>
internal sealed record MegatronPlan
{
    public required IReadOnlyList<string> Command { get; init; }
    /// <summary>--train-iters: the absolute iteration Megatron stops at (offset + this stage's iterations).</summary>
    public required long TrainIters { get; init; }
    /// <summary>The stage's iteration count from its token budget.</summary>
    public required long StageIters { get; init; }
    /// <summary>Iteration the stage starts at: 0 after --finetune, the previous stage's iteration when the optimizer carries over.</summary>
    public required long IterationOffset { get; init; }
    public required int GlobalBatchSize { get; init; }
    public required string SaveDir { get; init; }
}

/// <summary>
/// Renders Megatron-LM's arguments (pretrain_gpt.py) from a stage: the same inputs the generic trainer's
/// JOB.json carries (docs/trainer-contract.md), spelled as Megatron flags.
/// </summary>
internal static class MegatronArguments
{
    /// <param name="command">The stage.</param>
    /// <param name="data">The blend with local prefixes (as JOB.json has them).</param>
    /// <param name="saveDir">This stage's --save folder.</param>
    public static MegatronPlan Render(LaunchTraining command, IReadOnlyList<TrainJobData> data, string saveDir)
    {
        var trainer = command.Training.Trainer;
        if (!string.Equals(trainer.Kind, TrainerSpec.Megatron, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"training.trainer.kind is '{trainer.Kind}', not '{TrainerSpec.Megatron}'");
        }

        if (trainer.Command.Count == 0)
        {
            throw new InvalidOperationException("training.trainer.command is empty: name the program that runs pretrain_gpt.py");
        }

        if (data.Count == 0)
        {
            throw new InvalidOperationException("the stage has no training data");
        }

        var training = command.Training;
        var model = command.Model;
        var globalBatch = trainer.GlobalBatchSize > 0 ? trainer.GlobalBatchSize : training.MicroBatchSize;
        if (globalBatch % training.MicroBatchSize != 0)
        {
            throw new InvalidOperationException(
                $"training.trainer.global_batch_size ({Text(globalBatch)}) must be a multiple of training.micro_batch_size ({Text(training.MicroBatchSize)})");
        }

        var stageIters = Iterations(command.TokenBudget, globalBatch, training.SeqLength);
        saveDir = Path.GetFullPath(saveDir);

        // Where the weights come from: this stage's own latest complete checkpoint (a resume: everything, as saved),
        // else the previous stage's final one (weights only with --finetune, or weights and optimizer carried over).
        MegatronCheckpoint? init = null;
        if (command.InitFrom is { } initFrom)
        {
            init = MegatronCheckpoints.TryOpen(initFrom)
                ?? throw new InvalidOperationException($"init_from '{initFrom}' is not a complete Megatron checkpoint ({MegatronCheckpoints.Tracker} does not name it)");
        }

        var carry = init is not null && string.Equals(trainer.Init, TrainerSpec.CarryOptimizer, StringComparison.Ordinal);
        var offset = carry ? init!.Iteration : 0;
        var trainIters = offset + stageIters;

        // Megatron's scheduler counts its own iterations; rendering a window that spans stages is not done yet, so it is
        // refused rather than silently restarted.
        if (command.ScheduleOffsetSteps != 0
            || (command.ScheduleTotalSteps != 0 && command.ScheduleTotalSteps != TrainJobs.TotalSteps(command.TokenBudget, training.MicroBatchSize, training.SeqLength)))
        {
            throw new InvalidOperationException("lr_schedule: continue is not supported by the megatron trainer yet; use restart");
        }

        var args = new List<string>(trainer.Command);
        // Model shape: the LLaMA architecture the platform trains (RMSNorm, RoPE, SwiGLU, GQA, no biases).
        Add(args, "--num-layers", model.NumLayers);
        Add(args, "--hidden-size", model.HiddenSize);
        Add(args, "--ffn-hidden-size", model.IntermediateSize);
        Add(args, "--num-attention-heads", model.NumHeads);
        if (model.NumKvHeads != model.NumHeads)
        {
            args.Add("--group-query-attention");
            Add(args, "--num-query-groups", model.NumKvHeads);
        }

        Add(args, "--seq-length", training.SeqLength);
        Add(args, "--max-position-embeddings", model.MaxPositionEmbeddings);
        args.AddRange(["--position-embedding-type", "rope"]);
        Add(args, "--rotary-base", model.RopeTheta);
        args.AddRange(["--normalization", "RMSNorm"]);
        Add(args, "--norm-epsilon", model.RmsNormEps);
        args.Add("--swiglu");
        args.Add("--disable-bias-linear");
        if (!model.TieWordEmbeddings)
        {
            args.Add("--untie-embeddings-and-output-weights");
        }

        // The data is tokenized already; Megatron only needs the vocabulary size (extra_args may name a real tokenizer).
        args.AddRange(["--tokenizer-type", "NullTokenizer"]);
        Add(args, "--vocab-size", command.VocabSize);

        // Batches, budget, schedule, optimizer.
        Add(args, "--micro-batch-size", training.MicroBatchSize);
        Add(args, "--global-batch-size", globalBatch);
        Add(args, "--train-iters", trainIters);
        Add(args, "--lr", training.LearningRate);
        Add(args, "--min-lr", training.MinLearningRate);
        args.AddRange(["--lr-decay-style", "cosine"]);
        Add(args, "--lr-warmup-iters", training.WarmupSteps);
        Add(args, "--weight-decay", training.WeightDecay);
        Add(args, "--adam-beta1", training.Beta1);
        Add(args, "--adam-beta2", training.Beta2);
        Add(args, "--clip-grad", training.GradClip);
        Add(args, "--seed", training.Seed);

        // Data: the blend as "weight prefix" pairs; evaluation is the platform's (held-out splits), not Megatron's.
        args.Add("--data-path");
        foreach (var item in data)
        {
            args.Add(Text(item.Weight));
            args.Add(item.Prefix);
        }

        args.AddRange(["--split", trainer.Split]);
        Add(args, "--eval-iters", 0);
        Add(args, "--eval-interval", trainIters);

        // Checkpoints and the graceful stop: SIGTERM makes Megatron save and exit.
        args.AddRange(["--save", saveDir]);
        Add(args, "--save-interval", training.CheckpointInterval);
        Add(args, "--log-interval", training.LogInterval);
        args.Add("--exit-signal-handler");
        if (MegatronCheckpoints.Latest(saveDir) is not null)
        {
            // Megatron resumes from the tracker's iteration: model, optimizer, rng, iteration and consumed samples.
            args.AddRange(["--load", saveDir]);
            if (carry)
            {
                args.Add("--override-opt_param-scheduler");
            }
        }
        else if (init is not null)
        {
            args.AddRange(["--load", init.Root]);
            if (!init.Release)
            {
                Add(args, "--ckpt-step", init.Iteration);
            }

            args.Add(carry ? "--override-opt_param-scheduler" : "--finetune");
        }

        // Skips: the contract's half-open, 1-based [from, to) step ranges are Megatron's inclusive "first-last" iterations.
        List<string>? skips = null;
        foreach (var range in command.SkipBatches)
        {
            if (range.To > range.From)
            {
                (skips ??= []).Add($"{Text(range.From + offset)}-{Text(range.To - 1 + offset)}");
            }
        }

        if (skips is not null)
        {
            args.Add("--skip-train-iteration-range");
            args.AddRange(skips);
        }

        // Last: argparse keeps the last value of a repeated flag, so the pipeline's extra_args override what is rendered.
        args.AddRange(trainer.ExtraArgs);
        return new MegatronPlan
        {
            Command = args,
            TrainIters = trainIters,
            StageIters = stageIters,
            IterationOffset = offset,
            GlobalBatchSize = globalBatch,
            SaveDir = saveDir,
        };
    }

    /// <summary>Iterations for a token budget: <c>ceil(tokens / (global batch × seq_length))</c>.</summary>
    public static long Iterations(long tokens, int globalBatchSize, int seqLength)
    {
        if (tokens <= 0 || globalBatchSize <= 0 || seqLength <= 0)
        {
            throw new InvalidOperationException("the token budget, global batch size and seq_length must be positive");
        }

        var perIteration = (long)globalBatchSize * seqLength;
        return (tokens + perIteration - 1) / perIteration;
    }

    private static void Add(List<string> args, string flag, long value)
    {
        args.Add(flag);
        args.Add(Text(value));
    }

    private static void Add(List<string> args, string flag, double value)
    {
        args.Add(flag);
        args.Add(Text(value));
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    // "R" keeps every digit (3e-4 stays 0.0003, not a rounded neighbour); Python's float() reads the result.
    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
