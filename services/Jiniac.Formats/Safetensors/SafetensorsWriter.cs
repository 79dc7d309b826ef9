using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Jiniac.Formats.Safetensors;

/// <summary>
/// Writes a .safetensors file as the reference Rust crate (huggingface/safetensors,
/// safetensors/src/tensor.rs <c>prepare</c>/<c>serialize_to_file</c>) does: tensors ordered by
/// descending dtype then by name, a compact JSON header with <c>__metadata__</c> first, padded with
/// spaces to a multiple of 8 bytes, then the data back to back, little-endian, row-major.
/// The header is fixed up front, so tensors may be written in any order; the file appears under
/// its name only on <see cref="Complete"/> (written to a temporary name, flushed, renamed).
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly string _path;
    private readonly string _tempPath;
    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, int> _index;
    private readonly bool[] _written;
    private bool _finished;

    private SafetensorsWriter(string path, byte[] header, IReadOnlyList<SafetensorsTensorInfo> tensors)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors writing assumes a little-endian machine");
        }

        _path = path;
        _tempPath = path + ".tmp~";
        Tensors = tensors;
        _index = new Dictionary<string, int>(tensors.Count, StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            _index.Add(tensors[i].Name, i);
        }

        _written = new bool[tensors.Count];
        _stream = new FileStream(_tempPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> n = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)header.Length);
        _stream.Write(n);
        _stream.Write(header);
        _dataStart = 8 + header.Length;
        var dataLength = tensors.Count == 0 ? 0 : tensors[^1].End;
        _stream.SetLength(_dataStart + dataLength);
    }

    /// <summary>Tensors in file order (data offsets ascending).</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Starts <paramref name="path"/> (under a temporary name) with the header for <paramref name="tensors"/>.</summary>
    public static SafetensorsWriter Create(string path, IEnumerable<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = BuildHeader(tensors, metadata, out var infos);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        return new SafetensorsWriter(path, header, infos);
    }

    /// <summary>
    /// The header bytes (without the u64 length prefix), padded with spaces to a multiple of 8, and
    /// the tensors in file order. <paramref name="metadata"/> entries are written in ordinal key order.
    /// </summary>
    public static byte[] BuildHeader(IEnumerable<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata, out IReadOnlyList<SafetensorsTensorInfo> ordered)
    {
        var specs = new List<SafetensorsTensorSpec>(tensors);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            if (spec.Name == "__metadata__" || !seen.Add(spec.Name))
            {
                throw new ArgumentException($"tensor name '{spec.Name}' is reserved or used twice", nameof(tensors));
            }
        }

        // The Rust writer: right.dtype().cmp(left.dtype()).then(lname.cmp(rname)) — byte-wise name order.
        specs.Sort(static (l, r) =>
        {
            var byType = ((int)r.DType).CompareTo((int)l.DType);
            return byType != 0 ? byType : string.CompareOrdinal(l.Name, r.Name);
        });

        var infos = new List<SafetensorsTensorInfo>(specs.Count);
        long offset = 0;
        foreach (var spec in specs)
        {
            var end = checked(offset + spec.ByteLength);
            infos.Add(new SafetensorsTensorInfo(spec.Name, spec.DType, spec.Shape.ToArray(), offset, end));
            offset = end;
        }

        using var buffer = new MemoryStream();
        // serde_json escapes only quotes, backslashes and control characters; the relaxed encoder is the closest.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                var keys = new List<string>(metadata.Keys);
                keys.Sort(StringComparer.Ordinal);
                json.WriteStartObject("__metadata__");
                foreach (var key in keys)
                {
                    json.WriteString(key, metadata[key]);
                }

                json.WriteEndObject();
            }

            foreach (var info in infos)
            {
                json.WriteStartObject(info.Name);
                json.WriteString("dtype", SafetensorsDTypes.ToHeaderString(info.DType));
                json.WriteStartArray("shape");
                foreach (var d in info.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(info.Begin);
                json.WriteNumberValue(info.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var extra = (int)((8 - (buffer.Length % 8)) % 8);
        for (var i = 0; i < extra; i++)
        {
            buffer.WriteByte((byte)' ');
        }

        if (buffer.Length > SafetensorsReader.MaxHeaderBytes)
        {
            throw new InvalidOperationException($"safetensors header of {buffer.Length} bytes exceeds the {SafetensorsReader.MaxHeaderBytes}-byte limit");
        }

        ordered = infos;
        return buffer.ToArray();
    }

    /// <summary>Writes the whole data of tensor <paramref name="name"/> (little-endian bytes).</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (!_index.TryGetValue(name, out var i))
        {
            throw new ArgumentException($"{_path}: tensor '{name}' is not in the header", nameof(name));
        }

        var info = Tensors[i];
        if (data.Length != info.ByteLength)
        {
            throw new ArgumentException($"{_path}: tensor '{name}' needs {info.ByteLength} bytes, got {data.Length}", nameof(data));
        }

        if (_written[i])
        {
            throw new InvalidOperationException($"{_path}: tensor '{name}' written twice");
        }

        _stream.Position = _dataStart + info.Begin;
        _stream.Write(data);
        _written[i] = true;
    }

    /// <summary>Writes an F32 tensor.</summary>
    public void WriteTensor(string name, ReadOnlySpan<float> data)
    {
        if (_index.TryGetValue(name, out var i) && Tensors[i].DType != SafetensorsDType.F32)
        {
            throw new ArgumentException($"{_path}: tensor '{name}' is {Tensors[i].DType}, not F32", nameof(name));
        }

        WriteTensor(name, MemoryMarshal.AsBytes(data));
    }

    /// <summary>Checks every tensor was written, flushes to disk and renames the file into place.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        for (var i = 0; i < _written.Length; i++)
        {
            if (!_written[i])
            {
                throw new InvalidOperationException($"{_path}: tensor '{Tensors[i].Name}' was never written");
            }
        }

        _finished = true;
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_tempPath, _path, overwrite: true);
    }

    public void Dispose()
    {
        if (!_finished)
        {
            _finished = true;
            _stream.Dispose();
            File.Delete(_tempPath);
        }
    }
}
