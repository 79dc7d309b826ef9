using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jiniac.Text.Tests;

internal static class TestFiles
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", name);

    public static string Text(string name) => File.ReadAllText(Path(name));

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path(name));

    public static string[] GoldenTexts(string name = "golden-texts.json") => JsonSerializer.Deserialize<string[]>(Text(name))!;

    public static Dictionary<string, int[][]> GoldenIds(string name) => JsonSerializer.Deserialize<Dictionary<string, int[][]>>(Text(name))!;

    public static byte[] Gpt4oJson() => Gunzip("gpt4o-tokenizer.json.gz");

    public static byte[] Llama2Json() => Gunzip("llama2-tokenizer.json.gz");

    public static byte[] Gunzip(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Path(name)), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The same patching as make-golden.js: top-level keys replaced, "model_patch" merged into "model".</summary>
    public static byte[] Variant(byte[] baseJson, JsonObject patch)
    {
        var root = JsonNode.Parse(baseJson)!.AsObject();
        foreach (var (key, value) in patch)
        {
            if (key == "model_patch")
            {
                foreach (var (k, v) in value!.AsObject())
                {
                    root["model"]![k] = v?.DeepClone();
                }
            }
            else
            {
                root[key] = value?.DeepClone();
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(root);
    }
}
