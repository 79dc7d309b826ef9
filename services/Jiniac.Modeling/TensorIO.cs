using System.Runtime.InteropServices;
using Jiniac.Formats.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Jiniac.Modeling;

/// <summary>Moves fp32 CPU tensors to and from safetensors files without intermediate arrays.</summary>
public static class TensorIO
{
    /// <summary>Writes F32 tensors under their names (Rust-crate layout, see <see cref="SafetensorsWriter"/>).</summary>
    public static void WriteFloat32(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var specs = new List<SafetensorsTensorSpec>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            CheckFloat32(t, name);
            specs.Add(new SafetensorsTensorSpec(name, SafetensorsDType.F32, t.shape));
        }

        using var writer = SafetensorsWriter.Create(path, specs, metadata);
        foreach (var (name, t) in tensors)
        {
            if (t.is_contiguous())
            {
                writer.WriteTensor(name, (ReadOnlySpan<byte>)t.bytes);
            }
            else
            {
                using var c = t.contiguous();
                writer.WriteTensor(name, (ReadOnlySpan<byte>)c.bytes);
            }
        }

        writer.Complete();
    }

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="target"/> (fp32, contiguous), converting F16/BF16/F64.</summary>
    public static void ReadInto(SafetensorsReader reader, string name, Tensor target)
    {
        if (!reader.TryGetTensor(name, out var info))
        {
            throw new InvalidDataException($"{reader.FilePath}: tensor '{name}' is missing");
        }

        var shape = target.shape;
        var same = info.Shape.Count == shape.Length;
        for (var i = 0; same && i < shape.Length; i++)
        {
            same = info.Shape[i] == shape[i];
        }

        if (!same)
        {
            throw new InvalidDataException($"{reader.FilePath}: tensor '{name}' has shape [{string.Join(',', info.Shape)}], expected [{string.Join(',', shape)}]");
        }

        CheckFloat32(target, name);
        if (!target.is_contiguous())
        {
            throw new ArgumentException($"tensor '{name}': the target must be contiguous", nameof(target));
        }

        reader.ReadFloat32(name, MemoryMarshal.Cast<byte, float>(target.bytes));
    }

    private static void CheckFloat32(Tensor t, string name)
    {
        if (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"tensor '{name}' must be a float32 CPU tensor, is {t.dtype} on {t.device_type}");
        }
    }
}
