using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Jiniac.Modeling;

/// <summary>A parameter under its Hugging Face LlamaForCausalLM name.</summary>
public sealed record NamedParameter(string Name, Parameter Tensor)
{
    /// <summary>RMSNorm gains: one-dimensional, conventionally excluded from weight decay.</summary>
    public bool IsNorm => Tensor.dim() == 1;
}

/// <summary>
/// The LLaMA decoder (token embedding, RMSNorm, rotary embeddings, grouped-query attention, SwiGLU
/// MLP, final norm, LM head) in fp32 on the CPU, written functionally over parameters that carry
/// exactly the Hugging Face names and shapes, so a checkpoint is a 1:1 safetensors mapping.
/// RoPE follows HF's "rotate half" convention, so q/k weights need no permutation on export.
/// </summary>
public sealed class LlamaForCausalLM : IDisposable
{
    public const string ModelFileName = "model.safetensors";
    public const string ConfigFileName = "config.json";

    private readonly List<NamedParameter> _parameters = [];
    private readonly Dictionary<string, NamedParameter> _byName = new(StringComparer.Ordinal);
    private readonly Layer[] _layers;
    private readonly Parameter _embed;
    private readonly Parameter _norm;
    private readonly Parameter? _lmHead;
    private readonly Tensor _cos;
    private readonly Tensor _sin;
    private bool _disposed;

    private sealed record Layer(
        Parameter InputNorm, Parameter Q, Parameter K, Parameter V, Parameter O,
        Parameter PostNorm, Parameter Gate, Parameter Up, Parameter Down);

    private LlamaForCausalLM(LlamaConfig config)
    {
        config.Validate();
        Config = config;
        var h = config.HiddenSize;
        var kv = config.KeyValueHeads * config.HeadDim;
        _embed = Add("model.embed_tokens.weight", config.VocabSize, h);
        _layers = new Layer[config.NumHiddenLayers];
        for (var i = 0; i < _layers.Length; i++)
        {
            var p = $"model.layers.{i}.";
            _layers[i] = new Layer(
                InputNorm: Add(p + "input_layernorm.weight", h),
                Q: Add(p + "self_attn.q_proj.weight", h, h),
                K: Add(p + "self_attn.k_proj.weight", kv, h),
                V: Add(p + "self_attn.v_proj.weight", kv, h),
                O: Add(p + "self_attn.o_proj.weight", h, h),
                PostNorm: Add(p + "post_attention_layernorm.weight", h),
                Gate: Add(p + "mlp.gate_proj.weight", config.IntermediateSize, h),
                Up: Add(p + "mlp.up_proj.weight", config.IntermediateSize, h),
                Down: Add(p + "mlp.down_proj.weight", h, config.IntermediateSize));
        }

        _norm = Add("model.norm.weight", h);
        _lmHead = config.TieWordEmbeddings ? null : Add("lm_head.weight", config.VocabSize, h);
        (_cos, _sin) = RotaryTables(config);
    }

    public LlamaConfig Config { get; }

    /// <summary>All trainable parameters under their HF names (lm_head absent when tied).</summary>
    public IReadOnlyList<NamedParameter> Parameters => _parameters;

    public NamedParameter GetParameter(string name) =>
        _byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"no parameter named '{name}'");

    public long ParameterCount
    {
        get
        {
            long n = 0;
            foreach (var p in _parameters)
            {
                n += p.Tensor.numel();
            }

            return n;
        }
    }

    /// <summary>A freshly initialised model as transformers' LlamaPreTrainedModel._init_weights does it:
    /// normal(0, initializer_range) for embeddings and projections, ones for the norms.</summary>
    public static LlamaForCausalLM CreateRandom(LlamaConfig config, long seed)
    {
        var model = new LlamaForCausalLM(config);
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var p in model._parameters)
            {
                if (p.IsNorm)
                {
                    p.Tensor.fill_(1.0f);
                }
                else
                {
                    p.Tensor.normal_(0, config.InitializerRange, generator);
                }
            }
        }

        return model;
    }

    /// <summary>Loads a HF folder: config.json + model.safetensors.</summary>
    public static LlamaForCausalLM Load(string folder)
    {
        var config = LlamaConfig.Load(Path.Combine(folder, ConfigFileName));
        var model = new LlamaForCausalLM(config);
        try
        {
            model.LoadWeights(Path.Combine(folder, ModelFileName));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Copies every parameter from a safetensors file (F32, F16 or BF16), checking names and shapes.</summary>
    public void LoadWeights(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        foreach (var info in reader.Tensors)
        {
            // HF drops lm_head.weight when tied; a file that still holds it is accepted and the copy ignored.
            if (!_byName.ContainsKey(info.Name) && !(Config.TieWordEmbeddings && info.Name == "lm_head.weight"))
            {
                throw new InvalidDataException($"{path}: tensor '{info.Name}' is not a parameter of this Llama configuration");
            }
        }

        using (no_grad())
        {
            foreach (var p in _parameters)
            {
                TensorIO.ReadInto(reader, p.Name, p.Tensor);
            }
        }
    }

    /// <summary>Writes a HF folder: config.json and model.safetensors (F32).</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        Config.Save(Path.Combine(folder, ConfigFileName));
        SaveWeights(Path.Combine(folder, ModelFileName));
    }

    public void SaveWeights(string path)
    {
        var named = new List<KeyValuePair<string, Tensor>>(_parameters.Count);
        foreach (var p in _parameters)
        {
            named.Add(new(p.Name, p.Tensor));
        }

        TensorIO.WriteFloat32(path, named, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Logits [batch, time, vocab] for token ids [batch, time] (int64).</summary>
    public Tensor Forward(Tensor inputIds)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var batch = inputIds.shape[0];
        var time = inputIds.shape[1];
        if (time > Config.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"sequence of {time} tokens exceeds max_position_embeddings {Config.MaxPositionEmbeddings}", nameof(inputIds));
        }

        var heads = Config.NumAttentionHeads;
        var kvHeads = Config.KeyValueHeads;
        var headDim = Config.HeadDim;
        var hidden = Config.HiddenSize;
        var cos = _cos.narrow(0, 0, time);
        var sin = _sin.narrow(0, 0, time);

        var x = _embed.index_select(0, inputIds.reshape(-1)).view(batch, time, hidden);
        foreach (var layer in _layers)
        {
            var h = RmsNorm(x, layer.InputNorm);
            var q = nn.functional.linear(h, layer.Q).view(batch, time, heads, headDim).transpose(1, 2);
            var k = nn.functional.linear(h, layer.K).view(batch, time, kvHeads, headDim).transpose(1, 2);
            var v = nn.functional.linear(h, layer.V).view(batch, time, kvHeads, headDim).transpose(1, 2);
            q = ApplyRotary(q, cos, sin);
            k = ApplyRotary(k, cos, sin);
            if (kvHeads != heads)
            {
                // HF repeat_kv: query head j reads key/value head j / (heads / kvHeads).
                k = k.repeat_interleave(heads / kvHeads, dim: 1);
                v = v.repeat_interleave(heads / kvHeads, dim: 1);
            }

            var attention = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
            attention = attention.transpose(1, 2).reshape(batch, time, hidden);
            x = x + nn.functional.linear(attention, layer.O);

            h = RmsNorm(x, layer.PostNorm);
            var gated = nn.functional.silu(nn.functional.linear(h, layer.Gate)) * nn.functional.linear(h, layer.Up);
            x = x + nn.functional.linear(gated, layer.Down);
        }

        x = RmsNorm(x, _norm);
        return nn.functional.linear(x, _lmHead ?? _embed);
    }

    /// <summary>Mean next-token cross-entropy (nats) of <paramref name="targets"/> given <paramref name="inputIds"/>, both [batch, time].</summary>
    public Tensor Loss(Tensor inputIds, Tensor targets)
    {
        var logits = Forward(inputIds);
        return nn.functional.cross_entropy(logits.view(-1, Config.VocabSize), targets.reshape(-1));
    }

    /// <summary>
    /// Negative log-likelihood (nats) of every token after the first: for ids [batch, time] returns
    /// [batch, time - 1], entry t being −log p(ids[t + 1] | ids[..t]). Call under no_grad for evaluation.
    /// </summary>
    public Tensor TokenNll(Tensor ids)
    {
        var batch = ids.shape[0];
        var time = ids.shape[1];
        var logits = Forward(ids.narrow(1, 0, time - 1));
        var targets = ids.narrow(1, 1, time - 1);
        return nn.functional.cross_entropy(logits.reshape(-1, Config.VocabSize), targets.reshape(-1), reduction: nn.Reduction.None)
            .view(batch, time - 1);
    }

    private Tensor RmsNorm(Tensor x, Tensor weight)
    {
        var variance = x.pow(2).mean([-1L], keepdim: true);
        return x * (variance + Config.RmsNormEps).rsqrt() * weight;
    }

    /// <summary>HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁].</summary>
    private static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
        return (x * cos) + (rotated * sin);
    }

    /// <summary>cos/sin of HF's LlamaRotaryEmbedding (default rope type): inv_freq = θ^(−2i/d), emb = [freqs, freqs].</summary>
    private static (Tensor Cos, Tensor Sin) RotaryTables(LlamaConfig config)
    {
        var dim = config.HeadDim;
        var positions = config.MaxPositionEmbeddings;
        var table = new float[positions * dim];
        var cosValues = new float[positions * dim];
        var half = dim / 2;
        for (var i = 0; i < half; i++)
        {
            // HF computes inv_freq in float32 from an int64 arange; the product with positions is float32 too.
            var invFreq = (float)(1.0 / Math.Pow(config.RopeTheta, (2.0 * i) / dim));
            for (var p = 0; p < positions; p++)
            {
                var angle = (float)p * invFreq;
                table[(p * dim) + i] = table[(p * dim) + i + half] = MathF.Sin(angle);
                cosValues[(p * dim) + i] = cosValues[(p * dim) + i + half] = MathF.Cos(angle);
            }
        }

        return (tensor(cosValues, [positions, dim]), tensor(table, [positions, dim]));
    }

    private Parameter Add(string name, params long[] shape)
    {
        var parameter = new Parameter(empty(shape, ScalarType.Float32), requires_grad: true);
        var named = new NamedParameter(name, parameter);
        _parameters.Add(named);
        _byName.Add(name, named);
        return parameter;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var p in _parameters)
        {
            p.Tensor.Dispose();
        }

        _cos.Dispose();
        _sin.Dispose();
    }
}
