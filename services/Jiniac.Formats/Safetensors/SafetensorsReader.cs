using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Jiniac.Formats.Safetensors;

/// <summary>
/// Reads a .safetensors file, memory-mapped. Validates as the Rust crate does
/// (<c>SafeTensors::read_metadata</c>): header ≤ 100,000,000 bytes, valid UTF-8 JSON, tensors
/// contiguous from offset 0 with sizes matching dtype × shape, and the data section ending exactly
/// at the end of the file. Every error names the file. Thread-safe for reads.
/// </summary>
public sealed unsafe class SafetensorsReader : IDisposable
{
    /// <summary>MAX_HEADER_SIZE of the Rust crate.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsReader(string path)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors reading assumes a little-endian machine");
        }

        FilePath = path;
        var length = new FileInfo(path).Length;
        if (length < 8)
        {
            throw new InvalidDataException($"{path}: {length} bytes is too short for a safetensors file");
        }

        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        var start = p + _view.PointerOffset;
        try
        {
            var n = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(start, 8));
            if (n > MaxHeaderBytes)
            {
                throw new InvalidDataException($"{path}: header length {n} exceeds the {MaxHeaderBytes}-byte limit");
            }

            if ((long)n + 8 > length)
            {
                throw new InvalidDataException($"{path}: header length {n} runs past the end of the file ({length} bytes)");
            }

            var headerBytes = new ReadOnlySpan<byte>(start + 8, (int)n);
            (Tensors, Metadata) = ParseHeader(path, headerBytes);
            var dataLength = length - 8 - (long)n;
            var end = Tensors.Count == 0 ? 0 : Tensors[^1].End;
            if (end != dataLength)
            {
                throw new InvalidDataException($"{path}: the header describes {end} data bytes but the file holds {dataLength}");
            }

            _data = start + 8 + n;
            _byName = new Dictionary<string, SafetensorsTensorInfo>(Tensors.Count, StringComparer.Ordinal);
            foreach (var t in Tensors)
            {
                _byName.Add(t.Name, t);
            }
        }
        catch
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
            throw;
        }
    }

    public static SafetensorsReader Open(string path) => new(path);

    public string FilePath { get; }

    /// <summary>Tensors in file order (data offsets ascending).</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> object (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGetTensor(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    public SafetensorsTensorInfo GetTensor(string name) =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor, straight from the mapping.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = GetTensor(name);
        if (info.ByteLength > int.MaxValue)
        {
            throw new NotSupportedException($"{FilePath}: tensor '{name}' is {info.ByteLength} bytes, more than one span can hold");
        }

        return new ReadOnlySpan<byte>(_data + info.Begin, (int)info.ByteLength);
    }

    /// <summary>Reads a floating-point tensor (F32, F16, BF16 or F64) converted to float.</summary>
    public void ReadFloat32(string name, Span<float> destination)
    {
        var info = GetTensor(name);
        CheckCount(info, destination.Length);
        var bytes = GetBytes(name);
        switch (info.DType)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case SafetensorsDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (var i = 0; i < halves.Length; i++)
                {
                    destination[i] = (float)halves[i];
                }

                break;
            case SafetensorsDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < raw.Length; i++)
                {
                    // bfloat16 is the top half of an IEEE float32.
                    destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                }

                break;
            case SafetensorsDType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
            default:
                throw new InvalidDataException($"{FilePath}: tensor '{name}' is {SafetensorsDTypes.ToHeaderString(info.DType)}, not a floating-point type");
        }
    }

    public float[] ReadFloat32(string name)
    {
        var result = new float[checked((int)GetTensor(name).ElementCount)];
        ReadFloat32(name, result);
        return result;
    }

    /// <summary>Reads an integer tensor (I64, I32, I16, I8, U8, U16, U32) widened to long.</summary>
    public void ReadInt64(string name, Span<long> destination)
    {
        var info = GetTensor(name);
        CheckCount(info, destination.Length);
        var bytes = GetBytes(name);
        switch (info.DType)
        {
            case SafetensorsDType.I64:
                MemoryMarshal.Cast<byte, long>(bytes).CopyTo(destination);
                break;
            case SafetensorsDType.I32:
                Widen(MemoryMarshal.Cast<byte, int>(bytes), destination);
                break;
            case SafetensorsDType.U32:
                Widen(MemoryMarshal.Cast<byte, uint>(bytes), destination);
                break;
            case SafetensorsDType.I16:
                Widen(MemoryMarshal.Cast<byte, short>(bytes), destination);
                break;
            case SafetensorsDType.U16:
                Widen(MemoryMarshal.Cast<byte, ushort>(bytes), destination);
                break;
            case SafetensorsDType.I8:
                Widen(MemoryMarshal.Cast<byte, sbyte>(bytes), destination);
                break;
            case SafetensorsDType.U8:
                Widen(bytes, destination);
                break;
            default:
                throw new InvalidDataException($"{FilePath}: tensor '{name}' is {SafetensorsDTypes.ToHeaderString(info.DType)}, not an integer type");
        }
    }

    public long[] ReadInt64(string name)
    {
        var result = new long[checked((int)GetTensor(name).ElementCount)];
        ReadInt64(name, result);
        return result;
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<long> destination)
        where T : System.Numerics.IBinaryInteger<T>
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = long.CreateTruncating(source[i]);
        }
    }

    private void CheckCount(SafetensorsTensorInfo info, int length)
    {
        if (info.ElementCount != length)
        {
            throw new ArgumentException($"{FilePath}: tensor '{info.Name}' has {info.ElementCount} elements, the destination {length}");
        }
    }

    private static (IReadOnlyList<SafetensorsTensorInfo>, IReadOnlyDictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the header is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the header is not a JSON object");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw new InvalidDataException($"{path}: '{property.Name}' appears twice in the header");
                }

                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new InvalidDataException($"{path}: __metadata__ is not an object");
                    }

                    foreach (var m in property.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw new InvalidDataException($"{path}: __metadata__ value '{m.Name}' is not a string");
                    }

                    continue;
                }

                tensors.Add(ParseTensor(path, property));
            }

            // Older writers ordered entries by name: the data order is the offsets' order (as the Rust reader sorts).
            tensors.Sort(static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var t in tensors)
            {
                if (t.Begin != expected || t.End < t.Begin)
                {
                    throw new InvalidDataException($"{path}: tensor '{t.Name}' has data_offsets [{t.Begin}, {t.End}], expected to start at {expected}");
                }

                long elements = 1;
                foreach (var d in t.Shape)
                {
                    elements = checked(elements * d);
                }

                if (t.End - t.Begin != checked(elements * SafetensorsDTypes.Size(t.DType)))
                {
                    throw new InvalidDataException($"{path}: tensor '{t.Name}' spans {t.End - t.Begin} bytes, but {SafetensorsDTypes.ToHeaderString(t.DType)}[{string.Join(',', t.Shape)}] needs {elements * SafetensorsDTypes.Size(t.DType)}");
                }

                expected = t.End;
            }

            return (tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseTensor(string path, JsonProperty property)
    {
        var v = property.Value;
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dtypeElement)
            || !v.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{path}: tensor '{property.Name}' needs dtype, shape and two data_offsets");
        }

        if (dtypeElement.ValueKind != JsonValueKind.String || !SafetensorsDTypes.TryParse(dtypeElement.GetString(), out var dtype))
        {
            throw new InvalidDataException($"{path}: tensor '{property.Name}' has unknown dtype {dtypeElement.GetRawText()}");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out shape[i]) || shape[i] < 0)
            {
                throw new InvalidDataException($"{path}: tensor '{property.Name}' has a bad shape {shapeElement.GetRawText()}");
            }

            i++;
        }

        if (!offsetsElement[0].TryGetInt64(out var begin) || !offsetsElement[1].TryGetInt64(out var end) || begin < 0)
        {
            throw new InvalidDataException($"{path}: tensor '{property.Name}' has bad data_offsets {offsetsElement.GetRawText()}");
        }

        return new SafetensorsTensorInfo(property.Name, dtype, shape, begin, end);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
