namespace Jiniac.Formats.HuggingFace;

/// <summary>
/// The tensors of an HF LlamaForCausalLM (reference/safetensors-and-hf-llama.md), in the order transformers'
/// state_dict lists them (which is the order its sharding walks): names and [out, in] shapes from a config.
/// </summary>
public static class LlamaLayout
{
    public const string Embeddings = "model.embed_tokens.weight";
    public const string LmHead = "lm_head.weight";

    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(LlamaConfig config)
    {
        long hidden = config.HiddenSize, inter = config.IntermediateSize, head = config.HeadDim;
        long q = config.NumAttentionHeads * head, kv = config.KeyValueHeads * head;
        var tensors = new List<(string, long[])> { (Embeddings, [config.VocabSize, hidden]) };
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var layer = $"model.layers.{i}.";
            tensors.Add((layer + "self_attn.q_proj.weight", [q, hidden]));
            tensors.Add((layer + "self_attn.k_proj.weight", [kv, hidden]));
            tensors.Add((layer + "self_attn.v_proj.weight", [kv, hidden]));
            tensors.Add((layer + "self_attn.o_proj.weight", [hidden, q]));
            tensors.Add((layer + "mlp.gate_proj.weight", [inter, hidden]));
            tensors.Add((layer + "mlp.up_proj.weight", [inter, hidden]));
            tensors.Add((layer + "mlp.down_proj.weight", [hidden, inter]));
            tensors.Add((layer + "input_layernorm.weight", [hidden]));
            tensors.Add((layer + "post_attention_layernorm.weight", [hidden]));
        }

        tensors.Add(("model.norm.weight", [hidden]));
        if (!config.TieWordEmbeddings)
        {
            tensors.Add((LmHead, [config.VocabSize, hidden]));
        }

        return tensors;
    }

    /// <summary>
    /// q_proj/k_proj rows of a trainer whose RoPE rotates interleaved pairs (x0,x1),(x2,x3)… into HF's
    /// "rotate half" order, per head: new row j·(d/2)+i = old row 2i+j — transformers'
    /// convert_llama_weights_to_hf permute(w, n_heads): view(h, d/2, 2, in).transpose(1, 2).
    /// </summary>
    public static void InterleavedToRotateHalf(ReadOnlySpan<float> source, Span<float> destination, int heads, int headDim, int inFeatures)
    {
        if (headDim % 2 != 0 || source.Length != (long)heads * headDim * inFeatures || destination.Length != source.Length)
        {
            throw new ArgumentException($"a [{heads}·{headDim}, {inFeatures}] projection with an even head dimension was expected, got {source.Length} values");
        }

        var half = headDim / 2;
        for (var h = 0; h < heads; h++)
        {
            for (var j = 0; j < 2; j++)
            {
                for (var i = 0; i < half; i++)
                {
                    var from = ((h * headDim) + (2 * i) + j) * inFeatures;
                    var to = ((h * headDim) + (j * half) + i) * inFeatures;
                    source.Slice(from, inFeatures).CopyTo(destination.Slice(to, inFeatures));
                }
            }
        }
    }

    /// <summary>
    /// huggingface_hub's split_state_dict_into_shards_factory, step for step: tensors in order fill the current
    /// shard until the next one would tip it over <paramref name="maxShardBytes"/>; a tensor larger than the
    /// limit is put in a shard of its own at once (ahead of the shard being filled). One shard is
    /// "model.safetensors", more are "model-0000i-of-0000N.safetensors".
    /// </summary>
    public static IReadOnlyList<(string File, IReadOnlyList<string> Tensors)> Shards(IReadOnlyList<(string Name, long Bytes)> tensors, long maxShardBytes)
    {
        var groups = new List<List<string>>();
        var current = new List<string>();
        long size = 0;
        foreach (var (name, bytes) in tensors)
        {
            if (bytes > maxShardBytes)
            {
                groups.Add([name]);
                continue;
            }

            if (size + bytes > maxShardBytes)
            {
                groups.Add(current);
                current = [];
                size = 0;
            }

            current.Add(name);
            size += bytes;
        }

        if (current.Count > 0)
        {
            groups.Add(current);
        }

        if (groups.Count <= 1)
        {
            return [("model.safetensors", groups.Count == 0 ? [] : groups[0])];
        }

        return [.. groups.Select((g, i) => ($"model-{i + 1:D5}-of-{groups.Count:D5}.safetensors", (IReadOnlyList<string>)g))];
    }
}
