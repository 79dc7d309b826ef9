using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Options;

namespace Jiniac.Publisher;

/// <summary>The outcome of one publish: the commit id, and a local folder holding that revision's files.</summary>
public sealed record PublishedRevision(string Repo, string Revision, string Folder, bool Created);

/// <summary>
/// Turns a COMPLETE checkpoint (HF Llama safetensors + config.json) into the folder a Hugging Face model
/// revision holds: the weights, config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
/// generation_config.json and a README.md model card. Nothing depends on the clock, so the same checkpoint
/// always exports the same bytes.
/// </summary>
public sealed partial class ModelExporter(IOptions<PublisherOptions> options, IBlobStore blobs)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the revision's files into <paramref name="folder"/> (which must be empty or absent).</summary>
    public async Task ExportAsync(PublishModel message, RepoId repo, string folder, CancellationToken cancellationToken)
    {
        var checkpoint = Path.GetFullPath(message.CheckpointFolder);
        if (!File.Exists(Path.Combine(checkpoint, "COMPLETE")))
        {
            throw new PublishException($"checkpoint '{checkpoint}' is not complete");
        }

        var configBytes = await File.ReadAllBytesAsync(Path.Combine(checkpoint, "config.json"), cancellationToken);
        var model = ReadModelFacts(configBytes);
        byte[] tokenizer;
        await using (var stream = await blobs.OpenReadAsync(message.TokenizerBlob, cancellationToken))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            tokenizer = buffer.ToArray();
        }

        var temp = folder;
        Directory.CreateDirectory(temp);
        try
        {
            HuggingFaceExport.WriteTokenizerFiles(temp, tokenizer, model.BosTokenId, model.EosTokenId, model.ContextLength, requireEosToken: true);
        }
        catch (InvalidDataException e)
        {
            throw new PublishException(e.Message);
        }

        var weights = WriteWeights(checkpoint, temp, configBytes, message.Target);
        model = model with { DType = weights.DType, Shards = weights.Shards, Parameters = weights.Parameters, TiedEmbeddings = weights.Tied };
        await File.WriteAllBytesAsync(Path.Combine(temp, "config.json"), weights.Config, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(temp, "README.md"), ModelCard.Render(message, repo, model), new UTF8Encoding(false), cancellationToken);
    }

    private static ModelFacts ReadModelFacts(byte[] config)
    {
        var node = JsonNode.Parse(config) as JsonObject ?? throw new PublishException("config.json is not a JSON object");
        int Int(string name) => node[name]?.GetValue<int>() ?? throw new PublishException($"config.json has no {name}");
        var architectures = node["architectures"]?.AsArray();
        if (architectures is null || architectures.Count == 0 || architectures[0]?.GetValue<string>() != "LlamaForCausalLM")
        {
            throw new PublishException("config.json does not describe a LlamaForCausalLM");
        }

        return new ModelFacts(Int("vocab_size"), Int("hidden_size"), Int("num_hidden_layers"), Int("num_attention_heads"),
            node["num_key_value_heads"]?.GetValue<int>() ?? Int("num_attention_heads"), Int("max_position_embeddings"), Int("bos_token_id"), Int("eos_token_id"));
    }

    /// <summary>
    /// The checkpoint's weights as the published LlamaForCausalLM's: every tensor reference/safetensors-and-hf-llama.md
    /// names for this config, with its shape, and no other; lm_head.weight dropped when tied; q/k rows permuted when the
    /// trainer marked its RoPE interleaved; converted to publish.dtype; split at publish.max_shard_size with an index.
    /// A float32 single-file checkpoint already in that layout is hard-linked as it is.
    /// </summary>
    private ExportedWeights WriteWeights(string checkpoint, string target, byte[] configBytes, PublishSpec spec)
    {
        LlamaConfig config;
        try
        {
            config = LlamaConfig.FromJson(Encoding.UTF8.GetString(configBytes));
            config.Validate();
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new PublishException($"config.json: {e.Message}");
        }

        var sources = SourceFiles(checkpoint);
        var readers = new List<SafetensorsReader>();
        try
        {
            var byName = new Dictionary<string, SafetensorsReader>(StringComparer.Ordinal);
            foreach (var file in sources)
            {
                SafetensorsReader reader;
                try
                {
                    reader = SafetensorsReader.Open(Path.Combine(checkpoint, file));
                }
                catch (Exception e) when (e is InvalidDataException or IOException)
                {
                    throw new PublishException($"{file}: {e.Message}");
                }

                readers.Add(reader);
                foreach (var tensor in reader.Tensors)
                {
                    byName[tensor.Name] = reader;
                }
            }

            var expected = LlamaLayout.Tensors(config);
            var interleaved = readers.Any(r => r.Metadata.TryGetValue(RopeLayoutKey, out var layout) && layout == "interleaved");
            var unknownLayout = readers.Select(r => r.Metadata.GetValueOrDefault(RopeLayoutKey)).FirstOrDefault(l => l is not null and not "interleaved" and not "rotate_half");
            if (unknownLayout is not null)
            {
                throw new PublishException($"the checkpoint's {RopeLayoutKey} '{unknownLayout}' is neither rotate_half nor interleaved");
            }

            foreach (var (name, shape) in expected)
            {
                if (!byName.TryGetValue(name, out var reader))
                {
                    throw new PublishException(name == LlamaLayout.Embeddings
                        ? "the checkpoint's weights have no model.embed_tokens.weight: not an HF Llama checkpoint"
                        : $"the checkpoint has no {name}, which a LlamaForCausalLM with this config.json needs");
                }

                var info = reader.GetTensor(name);
                if (!info.Shape.SequenceEqual(shape))
                {
                    throw new PublishException($"{name} is [{string.Join(", ", info.Shape)}], config.json makes it [{string.Join(", ", shape)}]");
                }

                if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                {
                    throw new PublishException($"{name} is {SafetensorsDTypes.ToHeaderString(info.DType)}, not a floating-point tensor");
                }
            }

            var wanted = expected.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            var extra = byName.Keys.Where(n => !wanted.Contains(n) && !(config.TieWordEmbeddings && n == LlamaLayout.LmHead)).Order(StringComparer.Ordinal).ToList();
            if (extra.Count > 0)
            {
                throw new PublishException($"the checkpoint has tensors a LlamaForCausalLM does not: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? $" and {extra.Count - 5} more" : "")}");
            }

            var dtype = spec.DType == "bfloat16" ? SafetensorsDType.BF16 : SafetensorsDType.F32;
            var torchDType = dtype == SafetensorsDType.BF16 ? "bfloat16" : "float32";
            var size = SafetensorsDTypes.Size(dtype);
            var plan = LlamaLayout.Shards([.. expected.Select(t => (t.Name, t.Shape.Aggregate(1L, (a, b) => a * b) * size))], spec.MaxShardSize);
            var parameters = expected.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
            var asIs = plan.Count == 1 && sources.Count == 1 && sources[0] == "model.safetensors" && !interleaved
                && readers[0].Tensors.Count == expected.Count && readers[0].Tensors.All(t => t.DType == dtype);
            if (asIs)
            {
                PlaceWeights(Path.Combine(checkpoint, "model.safetensors"), Path.Combine(target, "model.safetensors"));
            }
            else
            {
                var shapes = expected.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
                var metadata = new Dictionary<string, string> { ["format"] = "pt" };
                foreach (var (file, tensors) in plan)
                {
                    using var writer = SafetensorsWriter.Create(Path.Combine(target, file), tensors.Select(n => new SafetensorsTensorSpec(n, dtype, shapes[n])), metadata);
                    foreach (var name in tensors)
                    {
                        var values = byName[name].ReadFloat32(name);
                        if (interleaved && (name.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal) || name.EndsWith(".self_attn.k_proj.weight", StringComparison.Ordinal)))
                        {
                            var heads = name.EndsWith(".q_proj.weight", StringComparison.Ordinal) ? config.NumAttentionHeads : config.KeyValueHeads;
                            var permuted = new float[values.Length];
                            LlamaLayout.InterleavedToRotateHalf(values, permuted, heads, config.HeadDim, config.HiddenSize);
                            values = permuted;
                        }

                        if (dtype == SafetensorsDType.BF16)
                        {
                            var halves = new ushort[values.Length];
                            BFloat16.FromSingle(values, halves);
                            writer.WriteTensor(name, MemoryMarshal.AsBytes(halves.AsSpan()));
                        }
                        else
                        {
                            writer.WriteTensor(name, values);
                        }
                    }

                    writer.Complete();
                }

                if (plan.Count > 1)
                {
                    var map = new JsonObject();
                    foreach (var (file, tensors) in plan)
                    {
                        foreach (var name in tensors)
                        {
                            map[name] = file;
                        }
                    }

                    // transformers writes the index with sort_keys=True and indent=2.
                    var sorted = new JsonObject();
                    foreach (var name in map.Select(p => p.Key).Order(StringComparer.Ordinal).ToList())
                    {
                        sorted[name] = map[name]!.GetValue<string>();
                    }

                    var index = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["total_size"] = expected.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b) * size) },
                        ["weight_map"] = sorted,
                    };
                    File.WriteAllText(Path.Combine(target, "model.safetensors.index.json"), index.ToJsonString(Indented) + "\n", new UTF8Encoding(false));
                }
            }

            var node = JsonNode.Parse(configBytes)!.AsObject();
            var published = node["torch_dtype"]?.GetValue<string>() == torchDType ? configBytes : RewriteDType(node, torchDType);
            return new ExportedWeights(published, torchDType, plan.Count, parameters, config.TieWordEmbeddings);
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>The safetensors metadata key a trainer sets to "interleaved" when its RoPE rotates adjacent pairs (the default is HF's rotate_half).</summary>
    public const string RopeLayoutKey = "rope_layout";

    private static byte[] RewriteDType(JsonObject config, string torchDType)
    {
        config["torch_dtype"] = torchDType;
        return Encoding.UTF8.GetBytes(config.ToJsonString(Indented) + "\n");
    }

    /// <summary>model.safetensors, or the shards a model.safetensors.index.json names (each a safe file name).</summary>
    private static List<string> SourceFiles(string checkpoint)
    {
        var indexPath = Path.Combine(checkpoint, "model.safetensors.index.json");
        if (!File.Exists(indexPath))
        {
            return File.Exists(Path.Combine(checkpoint, "model.safetensors")) ? ["model.safetensors"] : throw new PublishException("the checkpoint has no model.safetensors");
        }

        var files = new List<string>();
        var map = JsonNode.Parse(File.ReadAllBytes(indexPath))?["weight_map"]?.AsObject() ?? throw new PublishException("model.safetensors.index.json has no weight_map");
        foreach (var (_, file) in map)
        {
            var name = file?.GetValue<string>();
            if (!SafeName.IsValid(name))
            {
                throw new PublishException($"model.safetensors.index.json names an unsafe file '{name}'");
            }

            if (!File.Exists(Path.Combine(checkpoint, name!)))
            {
                throw new PublishException($"model.safetensors.index.json names {name}, which the checkpoint does not have");
            }

            if (!files.Contains(name!))
            {
                files.Add(name!);
            }
        }

        return files;
    }

    private sealed record ExportedWeights(byte[] Config, string DType, int Shards, long Parameters, bool Tied);

    private void PlaceWeights(string source, string target)
    {
        // Checkpoints are immutable once COMPLETE (trainers write new folders), so a hard link is a safe copy.
        if (options.Value.LinkWeights && !OperatingSystem.IsWindows() && Link(source, target) == 0)
        {
            return;
        }

        File.Copy(source, target);
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);
}

/// <summary>A failure whose message is the whole story (the reason PublishFailed carries).</summary>
internal sealed class PublishException(string message) : Exception(message);
