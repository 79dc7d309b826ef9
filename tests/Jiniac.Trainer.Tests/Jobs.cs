namespace Jiniac.Trainer.Tests;

/// <summary>JOB.json / EVAL.json documents of docs/trainer-contract.md, as the launcher would write them.</summary>
public static class Jobs
{
    public static Dictionary<string, object?> Model() => new()
    {
        ["vocab_size"] = SyntheticData.VocabSize,
        ["hidden_size"] = 32,
        ["intermediate_size"] = 88,
        ["num_hidden_layers"] = 2,
        ["num_attention_heads"] = 4,
        ["num_key_value_heads"] = 2,
        ["max_position_embeddings"] = 64,
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = 10000,
        ["tie_word_embeddings"] = false,
        ["bos_token_id"] = 0,
        ["eos_token_id"] = 0,
    };

    public static Dictionary<string, object?> Train(string outputDir, IReadOnlyList<string> prefixes, int steps, int checkpointInterval,
        string? initFrom = null, string? resumeFrom = null, double lr = 3e-3) => new()
    {
        ["model"] = Model(),
        ["data"] = Data(prefixes),
        ["init_from"] = initFrom,
        ["resume_from"] = resumeFrom,
        ["output_dir"] = outputDir,
        ["train"] = new Dictionary<string, object?>
        {
            ["seq_length"] = SeqLength,
            ["micro_batch_size"] = MicroBatch,
            ["train_tokens"] = (long)steps * SeqLength * MicroBatch,
            ["lr"] = lr,
            ["min_lr"] = lr / 10,
            ["warmup_steps"] = 5,
            ["weight_decay"] = 0.1,
            ["beta1"] = 0.9,
            ["beta2"] = 0.95,
            ["grad_clip"] = 1.0,
            ["seed"] = 1234,
            ["checkpoint_interval"] = checkpointInterval,
            ["log_interval"] = 1,
            // One thread: the machine is shared, and the exact-resume comparison wants one fixed thread count.
            ["threads"] = 1,
        },
        ["skip_batches"] = Array.Empty<object>(),
    };

    public const int SeqLength = 32;
    public const int MicroBatch = 8;

    private static object[] Data(IReadOnlyList<string> prefixes)
    {
        var data = new object[prefixes.Count];
        for (var i = 0; i < prefixes.Count; i++)
        {
            data[i] = new Dictionary<string, object?> { ["weight"] = i == 0 ? 0.6 : 0.4, ["prefix"] = prefixes[i] };
        }

        return data;
    }
}
