using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jiniac.Formats.HuggingFace;

/// <summary>
/// Lays a checkpoint out as a folder transformers loads as it is (<c>AutoModelForCausalLM</c> +
/// <c>AutoTokenizer</c>): the weights linked from the checkpoint (never copied: they can be large),
/// config.json, tokenizer.json, tokenizer_config.json (PreTrainedTokenizerFast), special_tokens_map.json
/// and generation_config.json. What external evaluation harnesses are pointed at.
/// </summary>
public static class HuggingFaceExport
{
    // Relaxed escaping: token strings such as <|endoftext|> stay readable (JSON readers accept both).
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <exception cref="InvalidDataException">the checkpoint or the tokenizer is not usable.</exception>
    public static void Write(string checkpoint, ReadOnlySpan<byte> tokenizerJson, string destination)
    {
        var configPath = Path.Combine(checkpoint, "config.json");
        var config = LlamaConfig.Load(configPath);
        if (Directory.Exists(destination))
        {
            Directory.Delete(destination, recursive: true);
        }

        Directory.CreateDirectory(destination);
        var weights = Directory.GetFiles(checkpoint, "model*.safetensors*");
        if (weights.Length == 0)
        {
            throw new InvalidDataException($"{checkpoint}: no model*.safetensors");
        }

        foreach (var file in weights)
        {
            File.CreateSymbolicLink(Path.Combine(destination, Path.GetFileName(file)), Path.GetFullPath(file));
        }

        File.Copy(configPath, Path.Combine(destination, "config.json"));
        File.WriteAllBytes(Path.Combine(destination, "tokenizer.json"), tokenizerJson.ToArray());
        var (eos, decoder) = AddedTokens(tokenizerJson, config.EosTokenId);
        Write(destination, "tokenizer_config.json", new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = eos,
            ["eos_token"] = eos,
            ["unk_token"] = eos,
            ["model_max_length"] = config.MaxPositionEmbeddings,
            ["clean_up_tokenization_spaces"] = false,
            ["added_tokens_decoder"] = decoder,
        });
        Write(destination, "special_tokens_map.json", new JsonObject { ["bos_token"] = eos, ["eos_token"] = eos, ["unk_token"] = eos });
        Write(destination, "generation_config.json", new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = config.BosTokenId,
            ["eos_token_id"] = config.EosTokenId,
        });
    }

    /// <summary>The end-of-text token (the added token with the model's eos id, else the first special one) and added_tokens_decoder.</summary>
    private static (string? Eos, JsonObject Decoder) AddedTokens(ReadOnlySpan<byte> tokenizerJson, int? eosId)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(tokenizerJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"tokenizer.json is not valid JSON: {e.Message}", e);
        }

        var decoder = new JsonObject();
        string? eos = null, firstSpecial = null;
        if (root?["added_tokens"] is JsonArray tokens)
        {
            foreach (var token in tokens)
            {
                var id = token?["id"]?.GetValue<int>() ?? -1;
                var content = token?["content"]?.GetValue<string>();
                var special = token?["special"]?.GetValue<bool>() ?? false;
                if (id < 0 || content is null)
                {
                    continue;
                }

                eos ??= id == eosId ? content : null;
                firstSpecial ??= special ? content : null;
                decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
                {
                    ["content"] = content,
                    ["lstrip"] = token?["lstrip"]?.GetValue<bool>() ?? false,
                    ["normalized"] = token?["normalized"]?.GetValue<bool>() ?? false,
                    ["rstrip"] = token?["rstrip"]?.GetValue<bool>() ?? false,
                    ["single_word"] = token?["single_word"]?.GetValue<bool>() ?? false,
                    ["special"] = special,
                };
            }
        }

        return (eos ?? firstSpecial, decoder);
    }

    private static void Write(string folder, string name, JsonObject value) =>
        File.WriteAllText(Path.Combine(folder, name), value.ToJsonString(Indented));
}
