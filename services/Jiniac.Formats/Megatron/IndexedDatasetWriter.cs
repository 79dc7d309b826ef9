using System.Buffers;
using System.Buffers.Binary;

namespace Jiniac.Formats.Megatron;

/// <summary>
/// Writes a Megatron-LM indexed dataset (PREFIX.bin + PREFIX.idx) exactly as
/// megatron/core/datasets/indexed_dataset.py does: one sequence per document (the text case),
/// token ids streamed to .bin, the index written on <see cref="Complete"/>.
/// Files are written under temporary names and renamed into place only when complete.
/// </summary>
public sealed class IndexedDatasetWriter : IDisposable
{
    public static readonly byte[] Magic = "MMIDIDX\0\0"u8.ToArray();

    private readonly string _prefix;
    private readonly IndexedDatasetDType _dtype;
    private readonly int _itemSize;
    private readonly FileStream _bin;
    private readonly List<int> _lengths = [];
    private readonly List<long> _documentIndex = [0];
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private bool _completed;

    public IndexedDatasetWriter(string prefix, IndexedDatasetDType dtype)
    {
        if (dtype is not (IndexedDatasetDType.UInt16 or IndexedDatasetDType.Int32 or IndexedDatasetDType.Int64 or IndexedDatasetDType.UInt8))
        {
            throw new ArgumentException($"token ids cannot be stored as {dtype}", nameof(dtype));
        }

        _prefix = prefix;
        _dtype = dtype;
        _itemSize = IndexedDatasetDTypes.ItemSize(dtype);
        var dir = Path.GetDirectoryName(Path.GetFullPath(prefix));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        _bin = new FileStream(BinTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
    }

    public long Documents => _documentIndex.Count - 1;
    public long Tokens { get; private set; }

    private string BinTemp => _prefix + ".bin.tmp~";
    private string IdxTemp => _prefix + ".idx.tmp~";

    /// <summary>Appends one document (one sequence). Ids must fit the dtype.</summary>
    public void AddDocument(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var bytes = tokens.Length * _itemSize;
        if (_buffer.Length < bytes)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(bytes);
        }

        var span = _buffer.AsSpan(0, bytes);
        switch (_dtype)
        {
            case IndexedDatasetDType.UInt16:
                for (var i = 0; i < tokens.Length; i++)
                {
                    var t = tokens[i];
                    if ((uint)t > ushort.MaxValue)
                    {
                        throw new ArgumentOutOfRangeException(nameof(tokens), t, "token id does not fit uint16");
                    }

                    BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)t);
                }

                break;
            case IndexedDatasetDType.UInt8:
                for (var i = 0; i < tokens.Length; i++)
                {
                    span[i] = checked((byte)tokens[i]);
                }

                break;
            case IndexedDatasetDType.Int32:
                for (var i = 0; i < tokens.Length; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], tokens[i]);
                }

                break;
            default:
                for (var i = 0; i < tokens.Length; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], tokens[i]);
                }

                break;
        }

        _bin.Write(span);
        _lengths.Add(tokens.Length);
        Tokens += tokens.Length;
        _documentIndex.Add(_lengths.Count);
    }

    /// <summary>Writes the index, flushes both files to disk and renames them into place.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        _bin.Flush(flushToDisk: true);
        _bin.Dispose();

        using (var idx = new FileStream(IdxTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            WriteIndex(idx, _dtype, _lengths, _documentIndex);
            idx.Flush(flushToDisk: true);
        }

        File.Move(BinTemp, _prefix + ".bin", overwrite: true);
        File.Move(IdxTemp, _prefix + ".idx", overwrite: true);
    }

    /// <summary>The .idx layout of reference/megatron-indexed-dataset.md, little-endian.</summary>
    public static void WriteIndex(Stream output, IndexedDatasetDType dtype, IReadOnlyList<int> lengths, IReadOnlyList<long> documentIndex)
    {
        var itemSize = IndexedDatasetDTypes.ItemSize(dtype);
        using var w = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(1UL);
        w.Write((byte)dtype);
        w.Write((ulong)lengths.Count);
        w.Write((ulong)documentIndex.Count);
        foreach (var length in lengths)
        {
            w.Write(length);
        }

        long pointer = 0;
        foreach (var length in lengths)
        {
            w.Write(pointer);
            pointer += (long)length * itemSize;
        }

        foreach (var d in documentIndex)
        {
            w.Write(d);
        }
    }

    public void Dispose()
    {
        if (!_completed)
        {
            _completed = true;
            _bin.Dispose();
            File.Delete(BinTemp);
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
