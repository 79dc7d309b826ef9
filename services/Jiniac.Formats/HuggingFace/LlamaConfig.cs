using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jiniac.Formats.HuggingFace;

/// <summary>
/// The config.json of a Hugging Face LlamaForCausalLM folder (reference/safetensors-and-hf-llama.md;
/// field names as transformers' LlamaConfig). Also the "model" object of the trainer's JOB.json,
/// where the fields that only HF needs may be left out.
/// </summary>
public sealed record LlamaConfig
{
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions ReadOptions = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    [JsonPropertyName("architectures")]
    public IReadOnlyList<string> Architectures { get; init; } = ["LlamaForCausalLM"];

    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "llama";

    [JsonPropertyName("vocab_size")]
    public required int VocabSize { get; init; }

    [JsonPropertyName("hidden_size")]
    public required int HiddenSize { get; init; }

    [JsonPropertyName("intermediate_size")]
    public required int IntermediateSize { get; init; }

    [JsonPropertyName("num_hidden_layers")]
    public required int NumHiddenLayers { get; init; }

    [JsonPropertyName("num_attention_heads")]
    public required int NumAttentionHeads { get; init; }

    /// <summary>Grouped-query attention; HF defaults it to <see cref="NumAttentionHeads"/> when absent.</summary>
    [JsonPropertyName("num_key_value_heads")]
    public int? NumKeyValueHeads { get; init; }

    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "silu";

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 2048;

    [JsonPropertyName("initializer_range")]
    public double InitializerRange { get; init; } = 0.02;

    [JsonPropertyName("rms_norm_eps")]
    public double RmsNormEps { get; init; } = 1e-6;

    [JsonPropertyName("rope_theta")]
    public double RopeTheta { get; init; } = 10000;

    [JsonPropertyName("attention_bias")]
    public bool AttentionBias { get; init; }

    [JsonPropertyName("mlp_bias")]
    public bool MlpBias { get; init; }

    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; }

    [JsonPropertyName("bos_token_id")]
    public int? BosTokenId { get; init; }

    [JsonPropertyName("eos_token_id")]
    public int? EosTokenId { get; init; }

    [JsonPropertyName("torch_dtype")]
    public string TorchDType { get; init; } = "float32";

    [JsonIgnore]
    public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    [JsonIgnore]
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Throws with the reason when the shape cannot be a Llama model this code can run.</summary>
    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
            {
                throw new InvalidDataException($"{name} must be positive, got {value}");
            }
        }

        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(KeyValueHeads, "num_key_value_heads");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new InvalidDataException($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        }

        if (HeadDim % 2 != 0)
        {
            throw new InvalidDataException($"head dimension {HeadDim} must be even for rotary embeddings");
        }

        if (NumAttentionHeads % KeyValueHeads != 0)
        {
            throw new InvalidDataException($"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {KeyValueHeads}");
        }

        if (HiddenAct != "silu")
        {
            throw new InvalidDataException($"hidden_act '{HiddenAct}' is not supported (silu only)");
        }

        if (AttentionBias || MlpBias)
        {
            throw new InvalidDataException("attention_bias / mlp_bias are not supported");
        }

        if (!(RmsNormEps > 0) || !(RopeTheta > 0))
        {
            throw new InvalidDataException("rms_norm_eps and rope_theta must be positive");
        }
    }

    public static LlamaConfig FromJson(string json) =>
        JsonSerializer.Deserialize<LlamaConfig>(json, ReadOptions) ?? throw new InvalidDataException("config.json is null");

    public static LlamaConfig Load(string path)
    {
        try
        {
            return FromJson(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid Llama config.json: {e.Message}", e);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions);

    /// <summary>Writes config.json via a temporary file and a rename, flushed to disk.</summary>
    public void Save(string path)
    {
        var temp = path + ".tmp~";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, this, WriteOptions);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
