using System.Text.Json;

namespace Jiniac.Text.Bpe;

/// <summary>What every tokenizer.json our trainers write starts with.</summary>
internal static class TrainedJson
{
    /// <summary>Opens the root object: version, no truncation or padding, the special tokens as ids 0..n-1.</summary>
    public static void WriteHeader(Utf8JsonWriter j, IReadOnlyList<string> specialTokens)
    {
        j.WriteStartObject();
        j.WriteString("version", "1.0");
        j.WriteNull("truncation");
        j.WriteNull("padding");
        j.WriteStartArray("added_tokens");
        for (var i = 0; i < specialTokens.Count; i++)
        {
            j.WriteStartObject();
            j.WriteNumber("id", i);
            j.WriteString("content", specialTokens[i]);
            j.WriteBoolean("single_word", false);
            j.WriteBoolean("lstrip", false);
            j.WriteBoolean("rstrip", false);
            j.WriteBoolean("normalized", false);
            j.WriteBoolean("special", true);
            j.WriteEndObject();
        }

        j.WriteEndArray();
    }
}
