using System.Text;
using System.Text.Json;
using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;

namespace Jiniac.Tests.Models;

/// <summary>
/// A one-layer Llama with random weights over a byte-level tokenizer without merges (token id = UTF-8 byte,
/// 256 = &lt;|endoftext|&gt;), and an independent forward pass of it in doubles written from the HF Llama
/// definitions (RMSNorm, rotate-half RoPE, grouped-query causal attention, SwiGLU), so tests can check the
/// log-likelihoods and greedy decodes the trainer's evaluate verb computes with libtorch.
/// </summary>
public sealed class TinyLanguageModel
{
    public const int Vocab = 257;
    public const int EndOfText = 256;
    private const int Hidden = 8;
    private const int Heads = 2;
    private const int KvHeads = 1;
    private const int HeadDim = Hidden / Heads;
    private const int Intermediate = 12;
    public const int MaxPositions = 1024;
    private const double Eps = 1e-5;
    private const double Theta = 10000;

    private readonly Dictionary<string, float[]> _w = new(StringComparer.Ordinal);

    public TinyLanguageModel(string folder, int seed)
    {
        Folder = folder;
        var random = new Random(seed);
        float[] Make(string name, int count, double scale, double offset = 0)
        {
            var values = new float[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = (float)(offset + (scale * ((random.NextDouble() * 2) - 1)));
            }

            _w[name] = values;
            return values;
        }

        Make("model.embed_tokens.weight", Vocab * Hidden, 1.0);
        Make("model.layers.0.input_layernorm.weight", Hidden, 0.2, 1.0);
        Make("model.layers.0.self_attn.q_proj.weight", Hidden * Hidden, 0.8);
        Make("model.layers.0.self_attn.k_proj.weight", KvHeads * HeadDim * Hidden, 0.8);
        Make("model.layers.0.self_attn.v_proj.weight", KvHeads * HeadDim * Hidden, 0.8);
        Make("model.layers.0.self_attn.o_proj.weight", Hidden * Hidden, 0.5);
        Make("model.layers.0.post_attention_layernorm.weight", Hidden, 0.2, 1.0);
        Make("model.layers.0.mlp.gate_proj.weight", Intermediate * Hidden, 0.5);
        Make("model.layers.0.mlp.up_proj.weight", Intermediate * Hidden, 0.5);
        Make("model.layers.0.mlp.down_proj.weight", Hidden * Intermediate, 0.5);
        Make("model.norm.weight", Hidden, 0.2, 1.0);
        Make("lm_head.weight", Vocab * Hidden, 1.5);

        Directory.CreateDirectory(folder);
        new LlamaConfig
        {
            VocabSize = Vocab,
            HiddenSize = Hidden,
            IntermediateSize = Intermediate,
            NumHiddenLayers = 1,
            NumAttentionHeads = Heads,
            NumKeyValueHeads = KvHeads,
            MaxPositionEmbeddings = MaxPositions,
            RmsNormEps = Eps,
            RopeTheta = Theta,
            BosTokenId = EndOfText,
            EosTokenId = EndOfText,
        }.Save(Path.Combine(folder, "config.json"));
        var specs = _w.Select(p => new SafetensorsTensorSpec(p.Key, SafetensorsDType.F32, Shape(p.Key))).ToList();
        using (var writer = SafetensorsWriter.Create(Path.Combine(folder, "model.safetensors"), specs))
        {
            foreach (var (name, values) in _w)
            {
                writer.WriteTensor(name, values);
            }

            writer.Complete();
        }

        File.WriteAllText(Path.Combine(folder, "COMPLETE"), "");
        TokenizerPath = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(TokenizerPath, TokenizerJson());
    }

    public string Folder { get; }

    public string TokenizerPath { get; }

    public static int[] Encode(string text) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    public static string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString([.. ids.Select(i => (byte)i)]);

    /// <summary>Σ log p(continuation bytes | context bytes), computed here (the byte tokenizer makes lm-eval's encode-pair split exact).</summary>
    public double LogLikelihood(string context, string continuation)
    {
        var ctx = Encode(context);
        var cont = Encode(continuation);
        var all = ctx.Concat(cont).ToArray();
        var logits = Forward(all[..^1]);
        double sum = 0;
        for (var i = 0; i < cont.Length; i++)
        {
            var row = logits[ctx.Length - 1 + i];
            sum += LogSoftmax(row)[cont[i]];
        }

        return sum;
    }

    /// <summary>HF greedy decoding with an optional repetition penalty; stops at end-of-text or max tokens.</summary>
    public int[] Greedy(string prompt, int maxNewTokens, double penalty = 1.0)
    {
        var ids = Encode(prompt).ToList();
        var generated = new List<int>();
        for (var i = 0; i < maxNewTokens; i++)
        {
            var row = Forward([.. ids])[^1];
            foreach (var id in ids.Distinct())
            {
                row[id] = row[id] < 0 ? row[id] * penalty : row[id] / penalty;
            }

            var next = Array.IndexOf(row, row.Max());
            if (next == EndOfText)
            {
                break;
            }

            ids.Add(next);
            generated.Add(next);
        }

        return [.. generated];
    }

    public static double[] LogSoftmax(double[] row)
    {
        var max = row.Max();
        var log = Math.Log(row.Sum(v => Math.Exp(v - max))) + max;
        return [.. row.Select(v => v - log)];
    }

    /// <summary>Logits [time][vocab] for token ids.</summary>
    public double[][] Forward(int[] ids)
    {
        var t = ids.Length;
        var x = new double[t][];
        for (var p = 0; p < t; p++)
        {
            x[p] = Row("model.embed_tokens.weight", ids[p], Hidden);
        }

        var q = new double[t][];
        var k = new double[t][];
        var v = new double[t][];
        for (var p = 0; p < t; p++)
        {
            var h = RmsNorm(x[p], "model.layers.0.input_layernorm.weight");
            q[p] = Rope(MatVec("model.layers.0.self_attn.q_proj.weight", h, Hidden), p, Heads);
            k[p] = Rope(MatVec("model.layers.0.self_attn.k_proj.weight", h, KvHeads * HeadDim), p, KvHeads);
            v[p] = MatVec("model.layers.0.self_attn.v_proj.weight", h, KvHeads * HeadDim);
        }

        var logits = new double[t][];
        for (var p = 0; p < t; p++)
        {
            var attention = new double[Hidden];
            for (var head = 0; head < Heads; head++)
            {
                var kv = head / (Heads / KvHeads);
                var scores = new double[p + 1];
                for (var s = 0; s <= p; s++)
                {
                    double dot = 0;
                    for (var d = 0; d < HeadDim; d++)
                    {
                        dot += q[p][(head * HeadDim) + d] * k[s][(kv * HeadDim) + d];
                    }

                    scores[s] = dot / Math.Sqrt(HeadDim);
                }

                var weights = LogSoftmax(scores).Select(Math.Exp).ToArray();
                for (var s = 0; s <= p; s++)
                {
                    for (var d = 0; d < HeadDim; d++)
                    {
                        attention[(head * HeadDim) + d] += weights[s] * v[s][(kv * HeadDim) + d];
                    }
                }
            }

            var y = Add(x[p], MatVec("model.layers.0.self_attn.o_proj.weight", attention, Hidden));
            var h2 = RmsNorm(y, "model.layers.0.post_attention_layernorm.weight");
            var gate = MatVec("model.layers.0.mlp.gate_proj.weight", h2, Intermediate);
            var up = MatVec("model.layers.0.mlp.up_proj.weight", h2, Intermediate);
            var act = new double[Intermediate];
            for (var i = 0; i < Intermediate; i++)
            {
                act[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
            }

            y = Add(y, MatVec("model.layers.0.mlp.down_proj.weight", act, Hidden));
            logits[p] = MatVec("lm_head.weight", RmsNorm(y, "model.norm.weight"), Vocab);
        }

        return logits;
    }

    private double[] Rope(double[] x, int position, int heads)
    {
        var half = HeadDim / 2;
        var result = new double[x.Length];
        for (var head = 0; head < heads; head++)
        {
            var o = head * HeadDim;
            for (var i = 0; i < HeadDim; i++)
            {
                var freq = 1.0 / Math.Pow(Theta, 2.0 * (i % half) / HeadDim);
                var angle = position * freq;
                var rotated = i < half ? -x[o + i + half] : x[o + i - half];
                result[o + i] = (x[o + i] * Math.Cos(angle)) + (rotated * Math.Sin(angle));
            }
        }

        return result;
    }

    private double[] RmsNorm(double[] x, string weight)
    {
        var w = _w[weight];
        var scale = 1 / Math.Sqrt(x.Average(v => v * v) + Eps);
        return [.. x.Select((v, i) => v * scale * w[i])];
    }

    private double[] MatVec(string name, double[] x, int rows)
    {
        var w = _w[name];
        var cols = x.Length;
        var y = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            double sum = 0;
            for (var c = 0; c < cols; c++)
            {
                sum += w[(r * cols) + c] * x[c];
            }

            y[r] = sum;
        }

        return y;
    }

    private static double[] Add(double[] a, double[] b) => [.. a.Select((v, i) => v + b[i])];

    private double[] Row(string name, int row, int width) => [.. _w[name].AsSpan(row * width, width).ToArray().Select(f => (double)f)];

    private static long[] Shape(string name) => name switch
    {
        "model.embed_tokens.weight" or "lm_head.weight" => [Vocab, Hidden],
        "model.layers.0.self_attn.q_proj.weight" or "model.layers.0.self_attn.o_proj.weight" => [Hidden, Hidden],
        "model.layers.0.self_attn.k_proj.weight" or "model.layers.0.self_attn.v_proj.weight" => [KvHeads * HeadDim, Hidden],
        "model.layers.0.mlp.gate_proj.weight" or "model.layers.0.mlp.up_proj.weight" => [Intermediate, Hidden],
        "model.layers.0.mlp.down_proj.weight" => [Hidden, Intermediate],
        _ => [Hidden],
    };

    /// <summary>GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n.</summary>
    private static string TokenizerJson()
    {
        var bs = Enumerable.Range(33, 94).Concat(Enumerable.Range(161, 12)).Concat(Enumerable.Range(174, 82)).ToList();
        var cs = new List<int>(bs);
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!bs.Contains(b))
            {
                bs.Add(b);
                cs.Add(256 + n++);
            }
        }

        var vocab = new Dictionary<string, int>();
        for (var i = 0; i < bs.Count; i++)
        {
            vocab[((char)cs[i]).ToString()] = bs[i];
        }

        vocab["<|endoftext|>"] = EndOfText;
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new object[]
            {
                new Dictionary<string, object> { ["id"] = EndOfText, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true },
            },
            ["normalizer"] = null,
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new Dictionary<string, object> { ["type"] = "ByteLevel" },
            ["model"] = new Dictionary<string, object?> { ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["vocab"] = vocab, ["merges"] = Array.Empty<string>() },
        };
        return JsonSerializer.Serialize(json);
    }
}
