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
        WriteTokenizerFiles(destination, tokenizerJson, config.BosTokenId, config.EosTokenId, config.MaxPositionEmbeddings, requireEosToken: false);
    }

    /// <summary>
    /// tokenizer.json as given, and the files transformers reads beside it: tokenizer_config.json (PreTrainedTokenizerFast,
    /// the end-of-text token as bos/eos/unk, added_tokens_decoder), special_tokens_map.json and generation_config.json.
    /// The one writer of these for the evaluator's harness folder and the publisher's revision. Returns the end-of-text token.
    /// </summary>
    /// <param name="requireEosToken">true: the added token with id <paramref name="eosTokenId"/> must exist (a published model
    /// must name its eos); false: the first special added token stands in for it.</param>
    /// <exception cref="InvalidDataException">tokenizer.json is not JSON, or the required eos token is missing.</exception>
    public static string? WriteTokenizerFiles(string destination, ReadOnlySpan<byte> tokenizerJson, int? bosTokenId, int? eosTokenId, int modelMaxLength, bool requireEosToken)
    {
        var (exact, fallback, decoder) = AddedTokens(tokenizerJson, eosTokenId);
        if (requireEosToken && exact is null)
        {
            throw new InvalidDataException($"tokenizer.json has no added token with id {eosTokenId} (the model's eos_token_id)");
        }

        var eos = exact ?? fallback;
        File.WriteAllBytes(Path.Combine(destination, "tokenizer.json"), tokenizerJson.ToArray());
        Write(destination, "generation_config.json", new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = bosTokenId,
            ["eos_token_id"] = eosTokenId,
        });
        Write(destination, "tokenizer_config.json", new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = eos,
            ["eos_token"] = eos,
            ["unk_token"] = eos,
            ["model_max_length"] = modelMaxLength,
            ["clean_up_tokenization_spaces"] = false,
            ["added_tokens_decoder"] = decoder,
        });
        Write(destination, "special_tokens_map.json", new JsonObject { ["bos_token"] = eos, ["eos_token"] = eos, ["unk_token"] = eos });
        return eos;
    }

    /// <summary>The added token with the model's eos id (non-empty), the first special one, and added_tokens_decoder.</summary>
    private static (string? Eos, string? FirstSpecial, JsonObject Decoder) AddedTokens(ReadOnlySpan<byte> tokenizerJson, int? eosId)
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

                eos ??= id == eosId && content.Length > 0 ? content : null;
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

        return (eos, firstSpecial, decoder);
    }

    // Ending in a newline, as transformers' save_pretrained writes them.
    private static void Write(string folder, string name, JsonObject value) =>
        File.WriteAllText(Path.Combine(folder, name), value.ToJsonString(Indented) + "\n");
}
