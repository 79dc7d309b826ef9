using System.Buffers.Binary;
using System.Text;
using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;

namespace Jiniac.Formats.Tests;

/// <summary>
/// Golden layouts built by hand from the rules of the reference implementation, huggingface/safetensors
/// safetensors/src/tensor.rs: u64 LE header length; compact JSON with "__metadata__" first, then the
/// tensors sorted by descending dtype (enum order BOOL … F32 F64 I64 U64), then by name (byte order);
/// the header padded with spaces to a multiple of 8 (<c>prepare</c>); data back to back, LE, row-major.
/// </summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("safetensors-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Writer_produces_the_rust_crate_byte_layout()
    {
        var path = Path.Combine(_dir, "golden.safetensors");
        using (var writer = SafetensorsWriter.Create(path,
        [
            new SafetensorsTensorSpec("h", SafetensorsDType.BF16, [2]),
            new SafetensorsTensorSpec("b", SafetensorsDType.F32, [1, 1]),
            new SafetensorsTensorSpec("W", SafetensorsDType.F32, [2]),
            new SafetensorsTensorSpec("idx", SafetensorsDType.I64, [1]),
        ], new Dictionary<string, string> { ["format"] = "pt" }))
        {
            // Any order: the header already fixed every tensor's place.
            writer.WriteTensor("b", [0.5f]);
            writer.WriteTensor("h", [0x80, 0x3F, 0x00, 0xC0]); // bf16 1.0, -2.0
            writer.WriteTensor("W", [1.0f, -2.0f]);
            writer.WriteTensor("idx", [5, 0, 0, 0, 0, 0, 0, 0]);
            Assert.False(File.Exists(path));
            writer.Complete();
        }

        // I64 sorts before F32 before BF16; among the F32s "W" (0x57) precedes "b" (0x62).
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"idx\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"W\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[16,20]},"
            + "\"h\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}";
        var expected = new List<byte>();
        expected.AddRange([0x00, 0x01, 0, 0, 0, 0, 0, 0]); // u64 LE 256: 254 bytes of JSON + 2 spaces
        expected.AddRange(Encoding.UTF8.GetBytes(json));
        expected.AddRange("  "u8.ToArray());
        expected.AddRange([5, 0, 0, 0, 0, 0, 0, 0]);
        expected.AddRange([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]); // 1.0f, -2.0f
        expected.AddRange([0x00, 0x00, 0x00, 0x3F]); // 0.5f
        expected.AddRange([0x80, 0x3F, 0x00, 0xC0]);
        Assert.Equal(254, json.Length);
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp~"));
    }

    [Fact]
    public void Reader_reads_the_rust_crate_doc_example_and_converts_dtypes()
    {
        // The doc test of SafeTensors::deserialize: a 60-byte (unpadded) header and 16 zero bytes.
        var example = Path.Combine(_dir, "example.safetensors");
        var bytes = new List<byte> { 0x3C, 0, 0, 0, 0, 0, 0, 0 };
        bytes.AddRange("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"u8.ToArray());
        bytes.AddRange(new byte[16]);
        File.WriteAllBytes(example, bytes.ToArray());
        using (var reader = SafetensorsReader.Open(example))
        {
            var test = Assert.Single(reader.Tensors);
            Assert.Equal(("test", SafetensorsDType.I32, 0L, 16L), (test.Name, test.DType, test.Begin, test.End));
            Assert.Equal([2L, 2L], test.Shape);
            Assert.Empty(reader.Metadata);
            Assert.Equal(new long[4], reader.ReadInt64("test"));
        }

        // Entries out of offset order (older writers sorted by name) with F16, BF16 and I64 data.
        var path = Path.Combine(_dir, "mixed.safetensors");
        var header = "{\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]},\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\"m\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},\"__metadata__\":{\"step\":\"7\"}}"u8.ToArray();
        var file = new byte[8 + header.Length + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        var data = file.AsSpan(8 + header.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(data, 0x3C00);       // f16 1.0
        BinaryPrimitives.WriteUInt16LittleEndian(data[2..], 0xC000);  // f16 -2.0
        BinaryPrimitives.WriteUInt16LittleEndian(data[4..], 0x3F00);  // bf16 0.5
        BinaryPrimitives.WriteUInt16LittleEndian(data[6..], 0xC2C8);  // bf16 -100
        BinaryPrimitives.WriteInt64LittleEndian(data[8..], -3);
        File.WriteAllBytes(path, file);
        using var mixed = SafetensorsReader.Open(path);
        Assert.Equal(["a", "m", "z"], mixed.Tensors.Select(t => t.Name));
        Assert.Equal("7", mixed.Metadata["step"]);
        Assert.Equal([1.0f, -2.0f], mixed.ReadFloat32("a"));
        Assert.Equal([0.5f, -100f], mixed.ReadFloat32("m"));
        Assert.Equal([-3L], mixed.ReadInt64("z"));
        var error = Assert.Throws<InvalidDataException>(() => mixed.ReadFloat32("z"));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Written_f32_tensors_read_back_exactly()
    {
        var path = Path.Combine(_dir, "roundtrip.safetensors");
        var values = new float[3 * 5];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = MathF.Sin(i) * 1e-3f;
        }

        using (var writer = SafetensorsWriter.Create(path, [new("model.embed_tokens.weight", SafetensorsDType.F32, [3, 5]), new("empty", SafetensorsDType.F32, [0, 4])]))
        {
            writer.WriteTensor("model.embed_tokens.weight", values);
            writer.WriteTensor("empty", ReadOnlySpan<float>.Empty);
            writer.Complete();
        }

        var stored = System.IO.File.ReadAllBytes(path);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(stored) % 8); // padded: the data starts 8-aligned
        Assert.Equal((byte)' ', stored[8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(stored) - 1]);
        using var reader = SafetensorsReader.Open(path);
        Assert.Equal(values, reader.ReadFloat32("model.embed_tokens.weight"));
        Assert.Empty(reader.ReadFloat32("empty"));
        Assert.Equal([3L, 5L], reader.GetTensor("model.embed_tokens.weight").Shape);
        Assert.Throws<KeyNotFoundException>(() => reader.GetTensor("missing"));
    }

    [Fact]
    public void Writer_refuses_incomplete_or_mis_sized_data_and_leaves_no_file()
    {
        var path = Path.Combine(_dir, "incomplete.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [new("a", SafetensorsDType.F32, [2]), new("b", SafetensorsDType.F32, [1])]))
        {
            Assert.Throws<ArgumentException>(() => writer.WriteTensor("a", [1f]));
            Assert.Throws<ArgumentException>(() => writer.WriteTensor("nope", [1f]));
            writer.WriteTensor("a", [1f, 2f]);
            Assert.Throws<InvalidOperationException>(writer.Complete);
        }

        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".tmp~"));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(path, [new("a", SafetensorsDType.F32, [1]), new("a", SafetensorsDType.F32, [1])]));
    }

    [Theory]
    [InlineData("oversized")]
    [InlineData("past-end")]
    [InlineData("gap")]
    [InlineData("size-mismatch")]
    [InlineData("trailing-bytes")]
    [InlineData("not-json")]
    [InlineData("short")]
    public void Reader_rejects_malformed_files_naming_the_file(string kind)
    {
        var path = Path.Combine(_dir, kind + ".safetensors");
        File.WriteAllBytes(path, kind switch
        {
            "oversized" => Header(100_000_001, ""),
            "past-end" => Header(500, "{}"),
            "gap" => FileBytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2),
            "size-mismatch" => FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
            "trailing-bytes" => FileBytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 2),
            "not-json" => FileBytes("{\"a\":", 0),
            _ => [1, 2, 3],
        });
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Open(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Llama_config_uses_the_hf_field_names()
    {
        var config = new LlamaConfig
        {
            VocabSize = 2048, HiddenSize = 128, IntermediateSize = 352, NumHiddenLayers = 4,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256, RmsNormEps = 1e-5,
            BosTokenId = 0, EosTokenId = 0,
        };
        config.Validate();
        using var doc = System.Text.Json.JsonDocument.Parse(config.ToJson());
        var root = doc.RootElement;
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.Equal("llama", root.GetProperty("model_type").GetString());
        Assert.Equal(2, root.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal("silu", root.GetProperty("hidden_act").GetString());
        Assert.Equal(10000, root.GetProperty("rope_theta").GetDouble());
        Assert.False(root.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal("float32", root.GetProperty("torch_dtype").GetString());
        Assert.Equal(config, LlamaConfig.FromJson(config.ToJson()) with { Architectures = config.Architectures });
        Assert.Equal(32, config.HeadDim);
        Assert.Throws<InvalidDataException>(() => (config with { NumKeyValueHeads = 3 }).Validate());
    }

    private static byte[] Header(ulong length, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        body.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] FileBytes(string json, int dataBytes)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + body.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)body.Length);
        body.CopyTo(bytes, 8);
        return bytes;
    }
}
