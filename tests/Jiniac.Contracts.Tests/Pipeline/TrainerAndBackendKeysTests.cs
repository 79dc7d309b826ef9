using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>training.trainer and training.backend: the example in docs/pipeline-reference.md loads, and bad values are refused by line.</summary>
public sealed class TrainerAndBackendKeysTests
{
    [Fact]
    public void The_reference_docs_trainer_and_backend_example_loads()
    {
        using var files = new PipelineFiles();
        // Lines 14-20 are the training section of the valid file; the doc's block replaces them.
        files.Remove(14, 20).Insert(14, [.. DocExample().TrimEnd('\n').Split('\n')]);
        var training = files.Load().Training;

        Assert.Equal(
            (TrainerSpec.Megatron, 64, "100,0,0", TrainerSpec.Finetune),
            (training.Trainer.Kind, training.Trainer.GlobalBatchSize, training.Trainer.Split, training.Trainer.Init));
        Assert.Equal(["torchrun", "--nproc-per-node=8", "/opt/Megatron-LM/pretrain_gpt.py"], training.Trainer.Command);
        Assert.Equal(["--bf16", "--use-flash-attn"], training.Trainer.ExtraArgs);
        var backend = training.Backend;
        Assert.Equal((BackendSpec.Slurm, 2, 8, "gpu", "llm-ja", "2-00:00:00", 120), (backend.Kind, backend.Nodes, backend.GpusPerNode, backend.Partition, backend.Account, backend.TimeLimit, backend.SignalGraceSeconds));
        Assert.Equal(["module load cuda/12.4", "export NCCL_DEBUG=WARN"], backend.Setup);
        Assert.Equal(["OMP_NUM_THREADS=8"], backend.Env);
    }

    [Fact]
    public void Without_the_keys_the_reference_trainer_runs_locally()
    {
        using var files = new PipelineFiles();
        var training = files.Load().Training;
        Assert.Equal(new TrainerSpec(), training.Trainer);
        Assert.Equal(new BackendSpec(), training.Backend);
        Assert.Equal((TrainerSpec.Reference, BackendSpec.Local), (training.Trainer.Kind, training.Backend.Kind));
    }

    [Fact]
    public void Bad_trainer_and_backend_values_are_refused_with_their_lines()
    {
        using var files = new PipelineFiles();
        files.Insert(21,
            "  trainer:",                      // 21
            "    kind: megatorn",              // 22
            "    split: 90/10",                // 23
            "    init: warm",                  // 24
            "    global_batch_size: 6",        // 25 (micro_batch_size is 4)
            "  backend:",                      // 26
            "    kind: slurm",                 // 27
            "    nodes: 0",                    // 28
            "    time_limit: two days",        // 29
            "    env: [1BAD=x, GOOD=y]",       // 30
            "    namespace: Not_OK",           // 31
            "    colour: blue");               // 32
        var errors = files.Errors();
        Assert.Contains(errors, e => e.Line == 22 && e.Path == "training.trainer.kind" && e.Message.Contains("megatorn"));
        Assert.Contains(errors, e => e.Line == 23 && e.Path == "training.trainer.split");
        Assert.Contains(errors, e => e.Line == 24 && e.Path == "training.trainer.init");
        Assert.Contains(errors, e => e.Line == 25 && e.Path == "training.trainer.global_batch_size" && e.Message.Contains("multiple of training.micro_batch_size (4)"));
        Assert.Contains(errors, e => e.Line == 28 && e.Path == "training.backend.nodes");
        Assert.Contains(errors, e => e.Line == 29 && e.Path == "training.backend.time_limit" && e.Message.Contains("D-HH:MM:SS"));
        Assert.Contains(errors, e => e.Line == 30 && e.Path == "training.backend.env" && e.Message.Contains("1BAD=x"));
        Assert.Contains(errors, e => e.Line == 31 && e.Path == "training.backend.namespace");
        Assert.Contains(errors, e => e.Line == 32 && e.Path == "training.backend.colour" && e.Message.Contains("unknown key"));
    }

    [Fact]
    public void Megatron_needs_a_command_and_kubernetes_an_image()
    {
        using var files = new PipelineFiles();
        files.Insert(21, "  trainer:", "    kind: megatron", "  backend:", "    kind: kubernetes");
        var errors = files.Errors();
        Assert.Contains(errors, e => e.Path == "training.trainer.command" && e.Message.Contains("required for the megatron trainer"));
        Assert.Contains(errors, e => e.Path == "training.backend.image" && e.Message.Contains("required for the kubernetes backend"));
    }

    private static string DocExample()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "pipeline-reference.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var text = File.ReadAllText(Path.Combine(dir.FullName, "docs", "pipeline-reference.md"));
        var section = text.IndexOf("## `training.trainer` and `training.backend`", StringComparison.Ordinal);
        Assert.True(section >= 0);
        var start = text.IndexOf("```yaml\n", section, StringComparison.Ordinal) + "```yaml\n".Length;
        var end = text.IndexOf("```", start, StringComparison.Ordinal);
        return text[start..end];
    }
}
