using System.Text.Json;
using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;

namespace Jiniac.Trainer.Tests;

[Collection(TrainedModelCollection.Name)]
public sealed class TrainingTests(TrainedModelFixture fixture)
{
    /// <summary>HF LlamaForCausalLM names and shapes (reference/safetensors-and-hf-llama.md) for Jobs.Model().</summary>
    public static Dictionary<string, long[]> ExpectedTensors()
    {
        const int hidden = 32, kv = 2 * (32 / 4), intermediate = 88, vocab = SyntheticData.VocabSize;
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [vocab, hidden],
            ["model.norm.weight"] = [hidden],
            ["lm_head.weight"] = [vocab, hidden],
        };
        for (var i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            expected[p + "input_layernorm.weight"] = [hidden];
            expected[p + "post_attention_layernorm.weight"] = [hidden];
            expected[p + "self_attn.q_proj.weight"] = [hidden, hidden];
            expected[p + "self_attn.k_proj.weight"] = [kv, hidden];
            expected[p + "self_attn.v_proj.weight"] = [kv, hidden];
            expected[p + "self_attn.o_proj.weight"] = [hidden, hidden];
            expected[p + "mlp.gate_proj.weight"] = [intermediate, hidden];
            expected[p + "mlp.up_proj.weight"] = [intermediate, hidden];
            expected[p + "mlp.down_proj.weight"] = [hidden, intermediate];
        }

        return expected;
    }

    [Fact]
    public void Loss_falls_and_every_step_is_logged()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        var metrics = Metrics.Read(fixture.RunDir);
        Assert.Equal(TrainedModelFixture.Steps, metrics.Count);
        long expectedStep = 1;
        foreach (var (step, m) in metrics)
        {
            Assert.Equal(expectedStep++, step);
            Assert.Equal(step * Jobs.SeqLength * Jobs.MicroBatch, m.Tokens);
            Assert.True(double.IsFinite(m.Loss) && m.Loss > 0);
            Assert.True(m.Lr > 0 && m.Lr <= 3e-3 + 1e-12);
            Assert.True(m.GradNorm > 0);
            Assert.True(m.TokensPerSecond > 0);
        }

        // Warm-up is linear over 5 steps: step 1 runs at a fifth of the peak.
        Assert.Equal(3e-3 / 5, metrics[1].Lr, 1e-9);
        Assert.Equal(3e-3, metrics[5].Lr, 1e-9);
        // Uniform over 64 ids is ln 64 ≈ 4.16; both streams are largely predictable.
        Assert.InRange(metrics[1].Loss, 3.6, 4.6);
        var first = Mean(metrics, 1, 5);
        var last = Mean(metrics, TrainedModelFixture.Steps - 4, TrainedModelFixture.Steps);
        Assert.True(last < first - 1.0, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Checkpoints_are_complete_hf_folders()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        var root = Path.Combine(fixture.RunDir, "checkpoints");
        var folders = Directory.GetDirectories(root);
        Array.Sort(folders, StringComparer.Ordinal);
        Assert.Equal([fixture.Checkpoint(25), fixture.Checkpoint(50), fixture.Checkpoint(60)], folders);
        var expected = ExpectedTensors();
        foreach (var folder in folders)
        {
            Assert.True(File.Exists(Path.Combine(folder, "COMPLETE")));
            Assert.Equal(0, new FileInfo(Path.Combine(folder, "COMPLETE")).Length);

            using (var model = SafetensorsReader.Open(Path.Combine(folder, "model.safetensors")))
            {
                Assert.Equal("pt", model.Metadata["format"]);
                Assert.Equal(expected.Count, model.Tensors.Count);
                foreach (var t in model.Tensors)
                {
                    Assert.True(expected.TryGetValue(t.Name, out var shape), t.Name);
                    Assert.Equal(SafetensorsDType.F32, t.DType);
                    Assert.Equal(shape, t.Shape);
                }

                // Norm gains start at one and stay near it; projections are small random numbers.
                var norm = model.ReadFloat32("model.norm.weight");
                Assert.All(norm, v => Assert.InRange(v, 0.5f, 1.5f));
            }

            using (var optimizer = SafetensorsReader.Open(Path.Combine(folder, "optimizer.safetensors")))
            {
                Assert.Equal(2 * expected.Count, optimizer.Tensors.Count);
                foreach (var (name, shape) in expected)
                {
                    Assert.Equal(shape, optimizer.GetTensor("exp_avg." + name).Shape);
                    Assert.Equal(shape, optimizer.GetTensor("exp_avg_sq." + name).Shape);
                }
            }

            var config = LlamaConfig.Load(Path.Combine(folder, "config.json"));
            Assert.Equal(["LlamaForCausalLM"], config.Architectures);
            Assert.Equal("llama", config.ModelType);
            Assert.Equal((SyntheticData.VocabSize, 32, 88, 2, 4, 2), (config.VocabSize, config.HiddenSize, config.IntermediateSize, config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads));
            Assert.Equal("silu", config.HiddenAct);
            using var raw = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            Assert.Equal("float32", raw.RootElement.GetProperty("torch_dtype").GetString());
            Assert.Equal(1e-5, raw.RootElement.GetProperty("rms_norm_eps").GetDouble());

            using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "trainer_state.json")));
            var step = long.Parse(Path.GetFileName(folder)["step_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(step, state.RootElement.GetProperty("step").GetInt64());
            Assert.Equal(step * Jobs.SeqLength * Jobs.MicroBatch, state.RootElement.GetProperty("tokens").GetInt64());
            Assert.Equal(TrainedModelFixture.Steps, state.RootElement.GetProperty("total_steps").GetInt64());
            Assert.Equal(Metrics.Read(fixture.RunDir)[step].Loss, state.RootElement.GetProperty("loss").GetDouble(), 1e-6);
            Assert.Equal(64, state.RootElement.GetProperty("job_hash").GetString()!.Length);
        }

        using var done = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.RunDir, "DONE.json")));
        Assert.Equal(TrainedModelFixture.Steps, done.RootElement.GetProperty("step").GetInt64());
        Assert.Equal(fixture.Checkpoint(60), done.RootElement.GetProperty("checkpoint").GetString());
    }

    [Fact]
    public async Task Init_from_starts_from_the_trained_weights()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        var stage2 = Path.Combine(fixture.Root, "stage2");
        var job = TrainerProcess.WriteJob(stage2, "JOB.json",
            Jobs.Train(stage2, fixture.TrainPrefixes, steps: 3, checkpointInterval: 100, initFrom: fixture.Checkpoint(60)));
        var (exit, log) = await TrainerProcess.RunAsync("train", job, stage2);
        Assert.True(exit == 0, log);

        var fromScratch = Metrics.Read(fixture.RunDir)[1].Loss;
        var initialised = Metrics.Read(stage2);
        Assert.Equal(3, initialised.Count);
        // Same seed, so the same first batch: only the starting weights differ.
        Assert.True(initialised[1].Loss < fromScratch - 1.0, $"first-step loss {initialised[1].Loss} from the checkpoint vs {fromScratch} from scratch");
        // A fresh optimizer and step counter: the stage ends at its own step 3 with its own checkpoint.
        Assert.True(File.Exists(Path.Combine(stage2, "checkpoints", "step_0000003", "COMPLETE")));
    }

    [Fact]
    public async Task Skipped_batches_are_drawn_but_not_trained_on()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Log);
        var dir = Path.Combine(fixture.Root, "skip");
        var job = Jobs.Train(dir, fixture.TrainPrefixes, steps: 6, checkpointInterval: 100);
        job["skip_batches"] = new object[] { new Dictionary<string, long> { ["from"] = 3, ["to"] = 5 } };
        var (exit, log) = await TrainerProcess.RunAsync("train", TrainerProcess.WriteJob(dir, "JOB.json", job), dir);
        Assert.True(exit == 0, log);

        var metrics = Metrics.Read(dir);
        Assert.Equal([1L, 2L, 5L, 6L], metrics.Keys);
        // Steps 1 and 2 are those of the 60-step run (same seed, still in warm-up).
        var reference = Metrics.Read(fixture.RunDir);
        Assert.Equal(reference[1].Loss, metrics[1].Loss, 1e-6);
        Assert.Equal(reference[2].Loss, metrics[2].Loss, 1e-6);
        Assert.Equal(6 * Jobs.SeqLength * Jobs.MicroBatch, metrics[6].Tokens);
        using var optimizer = Jiniac.Formats.Safetensors.SafetensorsReader.Open(Path.Combine(dir, "checkpoints", "step_0000006", "optimizer.safetensors"));
        Assert.Equal("4", optimizer.Metadata["step"]);
    }

    private static double Mean(SortedDictionary<long, MetricsLine> metrics, long from, long to)
    {
        double sum = 0;
        for (var s = from; s <= to; s++)
        {
            sum += metrics[s].Loss;
        }

        return sum / (to - from + 1);
    }
}
