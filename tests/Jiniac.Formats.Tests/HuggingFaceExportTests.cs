using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;

namespace Jiniac.Formats.Tests;

/// <summary>bfloat16 rounding as torch does it, huggingface_hub's shard split, and the RoPE row permutation of convert_llama_weights_to_hf.</summary>
public sealed class HuggingFaceExportTests
{
    [Theory]
    // Exact values keep their top 16 bits.
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1.0
    [InlineData(0xC0490FDBu, (ushort)0xC049)] // -π: the low half 0x0FDB < 0x8000 rounds down
    [InlineData(0x3F80C000u, (ushort)0x3F81)] // above half way: up
    [InlineData(0x3F808000u, (ushort)0x3F80)] // exactly half way, even below: stays
    [InlineData(0x3F818000u, (ushort)0x3F82)] // exactly half way, odd below: up to even
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float32 max rounds to +inf, as torch gives
    [InlineData(0x7F800000u, (ushort)0x7F80)] // +inf
    [InlineData(0x7FA00000u, (ushort)0x7FC0)] // any NaN is torch's canonical quiet NaN
    [InlineData(0xFFC00001u, (ushort)0x7FC0)]
    [InlineData(0x00000001u, (ushort)0x0000)] // the smallest subnormal rounds to zero
    public void Float32_to_bfloat16_rounds_to_nearest_even(uint bits, ushort expected) =>
        Assert.Equal(expected, BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(bits)));

    [Fact]
    public void Shards_fill_in_order_and_a_tensor_over_the_limit_gets_its_own_shard_ahead_of_the_one_being_filled()
    {
        var shards = LlamaLayout.Shards([("a", 40), ("b", 50), ("c", 30), ("huge", 500), ("d", 80), ("e", 20)], 100);

        Assert.Equal(
            [("model-00001-of-00004.safetensors", "a,b"), ("model-00002-of-00004.safetensors", "huge"), ("model-00003-of-00004.safetensors", "c"), ("model-00004-of-00004.safetensors", "d,e")],
            shards.Select(s => (s.File, string.Join(",", s.Tensors))));
        Assert.Equal([("model.safetensors", "a,b")], LlamaLayout.Shards([("a", 40), ("b", 60)], 100).Select(s => (s.File, string.Join(",", s.Tensors))));
    }

    [Fact]
    public void Interleaved_rope_rows_become_rotate_half_rows_per_head()
    {
        // 2 heads of dimension 4, 1 input feature: row r holds the value r.
        float[] rows = [0, 1, 2, 3, 4, 5, 6, 7];
        var permuted = new float[8];
        LlamaLayout.InterleavedToRotateHalf(rows, permuted, heads: 2, headDim: 4, inFeatures: 1);

        Assert.Equal([0f, 2, 1, 3, 4, 6, 5, 7], permuted);
    }

    [Fact]
    public void The_layout_names_every_parameter_with_out_in_shapes_and_drops_lm_head_when_tied()
    {
        var config = new LlamaConfig { VocabSize = 10, HiddenSize = 8, IntermediateSize = 12, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        var untied = LlamaLayout.Tensors(config).ToDictionary(t => t.Name, t => t.Shape);

        Assert.Equal(2 + (2 * 9) + 1, untied.Count);
        Assert.Equal([10L, 8], untied["model.embed_tokens.weight"]);
        Assert.Equal([4L, 8], untied["model.layers.1.self_attn.k_proj.weight"]);
        Assert.Equal([8L, 8], untied["model.layers.1.self_attn.o_proj.weight"]);
        Assert.Equal([8L, 12], untied["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal([10L, 8], untied["lm_head.weight"]);
        Assert.DoesNotContain(LlamaLayout.Tensors(config with { TieWordEmbeddings = true }), t => t.Name == "lm_head.weight");
    }
}
