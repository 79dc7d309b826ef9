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

        var eod = EndOfDocumentToken(tokenizer, model.EosTokenId, out var addedTokens);
        var temp = folder;
        Directory.CreateDirectory(temp);
        foreach (var weights in WeightFiles(checkpoint))
        {
            PlaceWeights(Path.Combine(checkpoint, weights), Path.Combine(temp, weights));
        }

        await File.WriteAllBytesAsync(Path.Combine(temp, "config.json"), configBytes, cancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(temp, "tokenizer.json"), tokenizer, cancellationToken);
        await WriteJsonAsync(Path.Combine(temp, "generation_config.json"), new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = model.BosTokenId,
            ["eos_token_id"] = model.EosTokenId,
        }, cancellationToken);
        var decoder = new JsonObject();
        foreach (var token in addedTokens)
        {
            decoder[token.Id.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = token.Content,
                ["lstrip"] = token.Lstrip,
                ["normalized"] = token.Normalized,
                ["rstrip"] = token.Rstrip,
                ["single_word"] = token.SingleWord,
                ["special"] = token.Special,
            };
        }

        await WriteJsonAsync(Path.Combine(temp, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = eod,
            ["eos_token"] = eod,
            ["unk_token"] = eod,
            ["model_max_length"] = model.ContextLength,
            ["clean_up_tokenization_spaces"] = false,
            ["added_tokens_decoder"] = decoder,
        }, cancellationToken);
        await WriteJsonAsync(Path.Combine(temp, "special_tokens_map.json"), new JsonObject
        {
            ["bos_token"] = eod,
            ["eos_token"] = eod,
            ["unk_token"] = eod,
        }, cancellationToken);
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

    /// <summary>The end-of-document token's text: the added token whose id is eos_token_id (the model's special tokens are the tokenizer's added tokens).</summary>
    private static string EndOfDocumentToken(byte[] tokenizer, int eosId, out List<AddedToken> added)
    {
        TokenizerFile? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<TokenizerFile>(tokenizer);
        }
        catch (JsonException e)
        {
            throw new PublishException($"tokenizer.json is not valid JSON: {e.Message}");
        }

        added = parsed?.AddedTokens is { } tokens ? [.. tokens] : [];
        foreach (var token in added)
        {
            if (token.Id == eosId && !string.IsNullOrEmpty(token.Content))
            {
                return token.Content;
            }
        }

        throw new PublishException($"tokenizer.json has no added token with id {eosId} (the model's eos_token_id)");
    }

    /// <summary>model.safetensors, or the shards a model.safetensors.index.json names; each header is checked to be safetensors with HF Llama names.</summary>
    private static List<string> WeightFiles(string checkpoint)
    {
        var files = new List<string>();
        var indexPath = Path.Combine(checkpoint, "model.safetensors.index.json");
        if (File.Exists(indexPath))
        {
            files.Add("model.safetensors.index.json");
            var map = JsonNode.Parse(File.ReadAllBytes(indexPath))?["weight_map"]?.AsObject() ?? throw new PublishException("model.safetensors.index.json has no weight_map");
            foreach (var (_, file) in map)
            {
                var name = file?.GetValue<string>();
                if (!SafeName.IsValid(name))
                {
                    throw new PublishException($"model.safetensors.index.json names an unsafe file '{name}'");
                }

                if (!files.Contains(name!))
                {
                    files.Add(name!);
                }
            }
        }
        else
        {
            files.Add("model.safetensors");
        }

        var embeddings = false;
        foreach (var file in files)
        {
            if (file.EndsWith(".safetensors", StringComparison.Ordinal))
            {
                embeddings |= SafetensorsHeaderHas(Path.Combine(checkpoint, file), "model.embed_tokens.weight");
            }
        }

        return embeddings ? files : throw new PublishException("the checkpoint's weights have no model.embed_tokens.weight: not an HF Llama checkpoint");
    }

    private static bool SafetensorsHeaderHas(string path, string tensor)
    {
        if (!File.Exists(path))
        {
            throw new PublishException($"the checkpoint has no {Path.GetFileName(path)}");
        }

        using var file = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        file.ReadExactly(length);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength == 0 || headerLength > 100_000_000 || headerLength > (ulong)(file.Length - 8))
        {
            throw new PublishException($"{Path.GetFileName(path)} is not a safetensors file (header length {headerLength})");
        }

        var header = new byte[(int)headerLength];
        file.ReadExactly(header);
        try
        {
            return JsonNode.Parse(header) is JsonObject tensors && tensors.ContainsKey(tensor);
        }
        catch (JsonException)
        {
            throw new PublishException($"{Path.GetFileName(path)} has a header that is not JSON");
        }
    }

    private void PlaceWeights(string source, string target)
    {
        // Checkpoints are immutable once COMPLETE (trainers write new folders), so a hard link is a safe copy.
        if (options.Value.LinkWeights && !OperatingSystem.IsWindows() && Link(source, target) == 0)
        {
            return;
        }

        File.Copy(source, target);
    }

    private static async Task WriteJsonAsync(string path, JsonObject content, CancellationToken cancellationToken) =>
        await File.WriteAllTextAsync(path, content.ToJsonString(Indented) + "\n", new UTF8Encoding(false), cancellationToken);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);

    private sealed record TokenizerFile
    {
        [JsonPropertyName("added_tokens")] public List<AddedToken>? AddedTokens { get; init; }
    }

    private sealed record AddedToken
    {
        [JsonPropertyName("id")] public int Id { get; init; }
        [JsonPropertyName("content")] public string? Content { get; init; }
        [JsonPropertyName("single_word")] public bool SingleWord { get; init; }
        [JsonPropertyName("lstrip")] public bool Lstrip { get; init; }
        [JsonPropertyName("rstrip")] public bool Rstrip { get; init; }
        [JsonPropertyName("normalized")] public bool Normalized { get; init; }
        [JsonPropertyName("special")] public bool Special { get; init; }
    }
}

/// <summary>A failure whose message is the whole story (the reason PublishFailed carries).</summary>
internal sealed class PublishException(string message) : Exception(message);
