using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.TrainLauncher.Megatron;
using Jiniac.Tests.Infrastructure;

namespace Jiniac.TrainLauncher.Tests.Megatron;

/// <summary>
/// The Megatron-LM adapter against text and folders in Megatron's own formats (reference/megatron-training-log.md):
/// megatron-train.log holds progress lines of the reference's shape and its older variants among other log output.
/// </summary>
public sealed class MegatronAdapterTests
{
    private static string LogText() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Megatron", "megatron-train.log"));

    private static List<MegatronProgress> ParseAll() =>
        [.. LogText().Split('\n').Select(line => MegatronLog.TryParse(line)).OfType<MegatronProgress>()];

    [Fact]
    public void The_reference_progress_line_is_read_field_by_field()
    {
        var first = ParseAll()[0];
        Assert.Equal(new DateTimeOffset(2026, 5, 9, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560), first.Time);
        Assert.Equal(100, first.Iteration);
        Assert.Equal(10000, first.TrainIters);
        Assert.Equal(51200, first.ConsumedSamples);
        Assert.Equal(812.3, first.ElapsedMsPerIteration);
        Assert.Equal(402.1, first.TflopsPerGpu);
        Assert.Equal(2.999E-04, first.LearningRate);
        Assert.Equal(512, first.GlobalBatchSize);
        Assert.Equal(3.123456, first.LmLoss);
        Assert.Equal(1.0, first.LossScale);
        Assert.Equal(0.412, first.GradNorm);
        Assert.Equal(0, first.SkippedIterations);
        Assert.Equal(0, first.NanIterations);
        Assert.Null(first.ParamsNorm);
    }

    [Fact]
    public void Older_and_reordered_lines_are_read_by_name_and_other_output_is_not_a_progress_line()
    {
        var all = ParseAll();
        Assert.Equal([100L, 101, 102, 103], all.Select(p => p.Iteration));

        // An older version: no microseconds, no throughput field.
        Assert.Equal(new DateTimeOffset(2026, 5, 9, 12, 0, 1, TimeSpan.Zero), all[1].Time);
        Assert.Null(all[1].TflopsPerGpu);
        Assert.Equal(3.101, all[1].LmLoss);

        // torchrun's "[default7]:" prefix, and the optional fields.
        Assert.Equal((0L, 12.0, 245.123), (all[2].SkippedSamples!.Value, all[2].NumZeros!.Value, all[2].ParamsNorm!.Value));

        // Fields in another order, a nan loss and a skipped iteration.
        Assert.True(double.IsNaN(all[3].LmLoss!.Value));
        Assert.Equal(805.5, all[3].ElapsedMsPerIteration);
        Assert.Equal(32768.0, all[3].LossScale);
        Assert.Equal((1L, 1L), (all[3].SkippedIterations!.Value, all[3].NanIterations!.Value));

        Assert.Null(MegatronLog.TryParse("[Rank 7] (after 100 iterations) memory (MB) | allocated: 1234.5"));
        Assert.Null(MegatronLog.TryParse("saving checkpoint at iteration     100 to /ckpt/run in torch_dist format"));
    }

    [Fact]
    public void A_progress_line_becomes_the_generic_contracts_metrics()
    {
        var first = ParseAll()[0];
        var metrics = MegatronLog.ToMetrics(first, seqLength: 2048, globalBatchSize: 1, iterationOffset: 0);
        Assert.Equal(100, metrics.Step);
        // The line's own global batch size wins over the configured one (batch-size ramp-up changes it).
        Assert.Equal(100L * 512 * 2048, metrics.Tokens);
        Assert.Equal(3.123456, metrics.Loss);
        Assert.Equal(2.999E-04, metrics.Lr);
        Assert.Equal(0.412, metrics.GradNorm);
        Assert.Equal(512 * 2048 / 0.8123, metrics.TokensPerSecond, 6);

        var carried = MegatronLog.ToMetrics(first, seqLength: 2048, globalBatchSize: 512, iterationOffset: 60);
        Assert.Equal((40L, 40L * 512 * 2048), (carried.Step, carried.Tokens));
    }

    [Fact]
    public void Checkpoints_are_complete_only_up_to_the_iteration_the_tracker_names()
    {
        using var temp = new TempFolder();
        var save = Path.Combine(temp.Path, "save");
        Assert.Empty(MegatronCheckpoints.Complete(save));
        Assert.Null(MegatronCheckpoints.Latest(save));

        Legacy(save, 100);
        TorchDist(save, 200);
        Legacy(save, 300);   // being written: the tracker still says 200
        Directory.CreateDirectory(Path.Combine(save, "iter_0000050"));   // an empty folder is no checkpoint
        Directory.CreateDirectory(Path.Combine(save, "iter_bogus"));
        Assert.Empty(MegatronCheckpoints.Complete(save));   // no tracker yet: nothing is complete

        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "200");
        Assert.Equal([100L, 200], MegatronCheckpoints.Complete(save).Select(c => c.Iteration));
        var latest = MegatronCheckpoints.Latest(save)!;
        Assert.Equal((200L, Path.Combine(save, "iter_0000200"), save), (latest.Iteration, latest.Folder, latest.Root));
        Assert.Null(MegatronCheckpoints.TryOpen(Path.Combine(save, "iter_0000300")));
        Assert.Equal(100, MegatronCheckpoints.TryOpen(Path.Combine(save, "iter_0000100"))!.Iteration);

        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "300\n");
        Assert.Equal([100L, 200, 300], MegatronCheckpoints.Complete(save).Select(c => c.Iteration));

        // The tracker naming a folder that is not there (deleted, another filesystem) is no checkpoint.
        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "400");
        Assert.Null(MegatronCheckpoints.Latest(save));

        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "30x");
        Assert.Empty(MegatronCheckpoints.Complete(save));

        Directory.CreateDirectory(Path.Combine(save, "release", "mp_rank_00"));
        File.WriteAllText(Path.Combine(save, "release", "mp_rank_00", "model_optim_rng.pt"), "x");
        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "release");
        Assert.True(Assert.Single(MegatronCheckpoints.Complete(save)).Release);
    }

    [Theory]
    [InlineData(0, 1000L, false, "Completed")]
    [InlineData(0, 1000L, true, "Completed")]
    [InlineData(0, 400L, false, "Requeue")]
    [InlineData(0, 400L, true, "Stopped")]
    [InlineData(16, 400L, false, "Requeue")]
    [InlineData(16, 400L, true, "Stopped")]
    [InlineData(17, 400L, false, "ValidationFailed")]
    [InlineData(1, 400L, false, "Crashed")]
    [InlineData(134, null, false, "Crashed")]
    public void Exit_codes_are_understood(int exitCode, long? tracker, bool stopRequested, string expected) =>
        Assert.Equal(Enum.Parse<MegatronExitKind>(expected), MegatronExit.Classify(exitCode, tracker, trainIters: 1000, stopRequested));

    [Fact]
    public void A_first_stage_renders_shape_blend_budget_schedule_save_signal_handler_and_skips()
    {
        using var temp = new TempFolder();
        var save = Path.Combine(temp.Path, "save");
        var plan = MegatronArguments.Render(Stage(), Blend(), save);

        // 10 M tokens / (64 × 256) = 610.35…: rounded up.
        Assert.Equal((611L, 611L, 0L, 64), (plan.TrainIters, plan.StageIters, plan.IterationOffset, plan.GlobalBatchSize));
        var args = plan.Command;
        Assert.Equal(["torchrun", "--nproc-per-node=8", "/opt/Megatron-LM/pretrain_gpt.py"], args.Take(3));
        Assert.Equal("4", Value(args, "--num-layers"));
        Assert.Equal("256", Value(args, "--hidden-size"));
        Assert.Equal("688", Value(args, "--ffn-hidden-size"));
        Assert.Equal("8", Value(args, "--num-attention-heads"));
        Assert.Contains("--group-query-attention", args);
        Assert.Equal("2", Value(args, "--num-query-groups"));
        Assert.Equal("256", Value(args, "--seq-length"));
        Assert.Equal("512", Value(args, "--max-position-embeddings"));
        Assert.Equal("RMSNorm", Value(args, "--normalization"));
        Assert.Contains("--swiglu", args);
        Assert.Contains("--untie-embeddings-and-output-weights", args);
        Assert.Equal("4096", Value(args, "--vocab-size"));
        Assert.Equal("8", Value(args, "--micro-batch-size"));
        Assert.Equal("64", Value(args, "--global-batch-size"));
        Assert.Equal("611", Value(args, "--train-iters"));
        Assert.Equal("0.003", Value(args, "--lr"));
        Assert.Equal("0.0003", Value(args, "--min-lr"));
        Assert.Equal("50", Value(args, "--lr-warmup-iters"));
        Assert.Equal("100", Value(args, "--save-interval"));

        var data = args.ToList().IndexOf("--data-path");
        Assert.Equal(["0.7", "/data/en/shard-a", "0.3", "/data/ja/shard-b"], args.Skip(data + 1).Take(4));
        Assert.Equal("--split", args[data + 5]);
        Assert.Equal("98,2,0", Value(args, "--split"));
        Assert.Equal(save, Value(args, "--save"));
        Assert.Contains("--exit-signal-handler", args);
        Assert.DoesNotContain("--load", args);
        Assert.DoesNotContain("--finetune", args);

        // [2, 3) and [10, 15) are Megatron's inclusive 2-2 and 10-14.
        var skip = args.ToList().IndexOf("--skip-train-iteration-range");
        Assert.Equal(["2-2", "10-14"], args.Skip(skip + 1).Take(2));
        // extra_args come last, so they override anything rendered before them.
        Assert.Equal(["--bf16", "--lr", "0.001"], args.TakeLast(3));
    }

    [Fact]
    public void A_later_stage_starts_from_the_previous_stages_weights_and_a_restart_resumes_its_own_checkpoint()
    {
        using var temp = new TempFolder();
        var previous = Path.Combine(temp.Path, "prev");
        Legacy(previous, 600);
        File.WriteAllText(Path.Combine(previous, MegatronCheckpoints.Tracker), "600");
        var save = Path.Combine(temp.Path, "save");
        var stage = Stage() with { InitFrom = Path.Combine(previous, "iter_0000600") };

        var finetune = MegatronArguments.Render(stage, Blend(), save).Command;
        Assert.Equal(previous, Value(finetune, "--load"));
        Assert.Equal("600", Value(finetune, "--ckpt-step"));
        Assert.Contains("--finetune", finetune);

        var carry = MegatronArguments.Render(WithInit(stage, TrainerSpec.CarryOptimizer), Blend(), save);
        Assert.Equal((600L, 1211L), (carry.IterationOffset, carry.TrainIters));
        Assert.Equal("1211", Value(carry.Command, "--train-iters"));
        Assert.Contains("--override-opt_param-scheduler", carry.Command);
        Assert.DoesNotContain("--finetune", carry.Command);
        var skip = carry.Command.ToList().IndexOf("--skip-train-iteration-range");
        Assert.Equal("602-602", carry.Command[skip + 1]);

        // Once this stage has a complete checkpoint of its own, a restart loads it (everything), not the previous stage.
        TorchDist(save, 100);
        File.WriteAllText(Path.Combine(save, MegatronCheckpoints.Tracker), "100");
        var resume = MegatronArguments.Render(stage, Blend(), save).Command;
        Assert.Equal(save, Value(resume, "--load"));
        Assert.DoesNotContain("--finetune", resume);
        Assert.DoesNotContain("--ckpt-step", resume);

        var missing = Assert.Throws<InvalidOperationException>(() => MegatronArguments.Render(stage with { InitFrom = Path.Combine(previous, "iter_0000700") }, Blend(), save));
        Assert.Contains("iter_0000700", missing.Message);
        var batch = Assert.Throws<InvalidOperationException>(() => MegatronArguments.Render(
            Stage() with { Training = Stage().Training with { Trainer = Stage().Training.Trainer with { GlobalBatchSize = 60 } } }, Blend(), save));
        Assert.Contains("global_batch_size (60)", batch.Message);
    }

    private static LaunchTraining WithInit(LaunchTraining stage, string init) =>
        stage with { Training = stage.Training with { Trainer = stage.Training.Trainer with { Init = init } } };

    private static string Value(IReadOnlyList<string> args, string flag)
    {
        var at = args.ToList().IndexOf(flag);
        Assert.True(at >= 0, $"{flag} is not rendered");
        return args[at + 1];
    }

    private static List<TrainJobData> Blend() =>
        [new TrainJobData { Weight = 0.7, Prefix = "/data/en/shard-a" }, new TrainJobData { Weight = 0.3, Prefix = "/data/ja/shard-b" }];

    private static LaunchTraining Stage() => new()
    {
        RunId = "run-1",
        Stage = "en-web",
        StageIndex = 0,
        Attempt = 1,
        Data = [new DataPrefix { Prefix = "tokenized/a", Weight = 0.7 }],
        TokenizerBlob = "tokenizers/run-1/tokenizer.json",
        VocabSize = 4096,
        EodTokenId = 0,
        Model = new ModelSpec { HiddenSize = 256, IntermediateSize = 688, NumLayers = 4, NumHeads = 8, NumKvHeads = 2, MaxPositionEmbeddings = 512 },
        Training = new TrainingSpec
        {
            SeqLength = 256, MicroBatchSize = 8, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 50,
            Trainer = new TrainerSpec
            {
                Kind = TrainerSpec.Megatron,
                Command = ["torchrun", "--nproc-per-node=8", "/opt/Megatron-LM/pretrain_gpt.py"],
                ExtraArgs = ["--bf16", "--lr", "0.001"],
                GlobalBatchSize = 64,
                Split = "98,2,0",
            },
        },
        TokenBudget = 10_000_000,
        SkipBatches = [new BatchRange { From = 2, To = 3 }, new BatchRange { From = 10, To = 15 }],
    };

    /// <summary>A legacy-format checkpoint: iter_NNNNNNN/mp_rank_00/model_optim_rng.pt.</summary>
    private static void Legacy(string save, long iteration)
    {
        var rank = Path.Combine(save, MegatronCheckpoints.FolderName(iteration), "mp_rank_00");
        Directory.CreateDirectory(rank);
        File.WriteAllBytes(Path.Combine(rank, "model_optim_rng.pt"), [1, 2, 3]);
    }

    /// <summary>A torch_dist checkpoint: metadata.json, .metadata and a .distcp shard.</summary>
    private static void TorchDist(string save, long iteration)
    {
        var folder = Path.Combine(save, MegatronCheckpoints.FolderName(iteration));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "metadata.json"), "{\"sharded_backend\": \"torch_dist\"}");
        File.WriteAllBytes(Path.Combine(folder, ".metadata"), [0]);
        File.WriteAllBytes(Path.Combine(folder, "__0_0.distcp"), [0]);
    }
}
