using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Jiniac.Formats.Megatron;

/// <summary>
/// Reads a Megatron-LM indexed dataset (PREFIX.idx + PREFIX.bin), memory-mapped, as
/// megatron/core/datasets/indexed_dataset.py lays it out. Thread-safe for reads.
/// </summary>
public sealed unsafe class IndexedDataset : IDisposable
{
    private const int HeaderSize = 34;

    private readonly MemoryMappedFile _idxFile;
    private readonly MemoryMappedViewAccessor _idxView;
    private readonly MemoryMappedFile? _binFile;
    private readonly MemoryMappedViewAccessor? _binView;
    private readonly byte* _idx;
    private readonly byte* _bin;
    private readonly long _lengthsOffset;
    private readonly long _pointersOffset;
    private readonly long _documentsOffset;

    private IndexedDataset(string prefix)
    {
        Prefix = prefix;
        var idxPath = prefix + ".idx";
        var binPath = prefix + ".bin";
        var idxLength = new FileInfo(idxPath).Length;
        if (idxLength < HeaderSize)
        {
            throw new InvalidDataException($"{idxPath}: {idxLength} bytes is too short for an indexed dataset header");
        }

        _idxFile = MemoryMappedFile.CreateFromFile(idxPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _idxView = _idxFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _idxView.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _idx = p + _idxView.PointerOffset;
        try
        {
            var header = new ReadOnlySpan<byte>(_idx, HeaderSize);
            if (!header[..9].SequenceEqual(IndexedDatasetWriter.Magic))
            {
                throw new InvalidDataException($"{idxPath}: not a Megatron indexed dataset (bad magic)");
            }

            var version = BinaryPrimitives.ReadUInt64LittleEndian(header[9..]);
            if (version != 1)
            {
                throw new InvalidDataException($"{idxPath}: version {version} is not supported (expected 1)");
            }

            DType = (IndexedDatasetDType)header[17];
            if (!Enum.IsDefined(DType))
            {
                throw new InvalidDataException($"{idxPath}: unknown dtype code {header[17]}");
            }

            ItemSize = IndexedDatasetDTypes.ItemSize(DType);
            SequenceCount = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[18..]));
            DocumentIndexCount = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[26..]));
            _lengthsOffset = HeaderSize;
            _pointersOffset = _lengthsOffset + (SequenceCount * 4);
            _documentsOffset = _pointersOffset + (SequenceCount * 8);
            var expected = _documentsOffset + (DocumentIndexCount * 8);
            if (idxLength < expected)
            {
                throw new InvalidDataException($"{idxPath}: {idxLength} bytes, but the header promises {expected}");
            }

            var binLength = new FileInfo(binPath).Length;
            TotalTokens = binLength / ItemSize;
            if (SequenceCount > 0)
            {
                var last = SequenceCount - 1;
                var end = GetSequencePointer(last) + ((long)GetSequenceLength(last) * ItemSize);
                if (end > binLength)
                {
                    throw new InvalidDataException($"{binPath}: {binLength} bytes, but the index points to byte {end}");
                }
            }

            if (binLength > 0)
            {
                _binFile = MemoryMappedFile.CreateFromFile(binPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                _binView = _binFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* b = null;
                _binView.SafeMemoryMappedViewHandle.AcquirePointer(ref b);
                _bin = b + _binView.PointerOffset;
            }
        }
        catch
        {
            // A refused file must not stay mapped: the pointer acquired above would pin the mapping for the process's life.
            Dispose();
            throw;
        }
    }

    public static IndexedDataset Open(string prefix) => new(prefix);

    public string Prefix { get; }
    public IndexedDatasetDType DType { get; }
    public int ItemSize { get; }
    public long SequenceCount { get; }
    /// <summary>Entries of the document index (documents + 1).</summary>
    public long DocumentIndexCount { get; }
    public long DocumentCount => DocumentIndexCount - 1;
    /// <summary>Tokens in .bin (the sum of sequence lengths for files written by Megatron or us).</summary>
    public long TotalTokens { get; }

    public int GetSequenceLength(long i)
    {
        CheckSequence(i);
        return BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_idx + _lengthsOffset + (i * 4), 4));
    }

    /// <summary>Byte offset of sequence <paramref name="i"/> in .bin.</summary>
    public long GetSequencePointer(long i)
    {
        CheckSequence(i);
        return BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(_idx + _pointersOffset + (i * 8), 8));
    }

    public long GetDocumentIndex(long i)
    {
        if ((ulong)i >= (ulong)DocumentIndexCount)
        {
            throw new ArgumentOutOfRangeException(nameof(i));
        }

        return BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(_idx + _documentsOffset + (i * 8), 8));
    }

    public int[] GetSequence(long i)
    {
        var result = new int[GetSequenceLength(i)];
        ReadSequence(i, result);
        return result;
    }

    public void ReadSequence(long i, Span<int> destination)
    {
        var length = GetSequenceLength(i);
        if (destination.Length < length)
        {
            throw new ArgumentException($"destination holds {destination.Length} ids, sequence {i} has {length}", nameof(destination));
        }

        Decode(GetSequencePointer(i), destination[..length]);
    }

    /// <summary>Copies tokens starting at a global token offset of the .bin stream (documents back to back).</summary>
    public void ReadTokens(long tokenOffset, Span<int> destination)
    {
        if (tokenOffset < 0 || tokenOffset + destination.Length > TotalTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(tokenOffset), $"tokens [{tokenOffset}, {tokenOffset + destination.Length}) outside [0, {TotalTokens})");
        }

        Decode(tokenOffset * ItemSize, destination);
    }

    private void Decode(long byteOffset, Span<int> destination)
    {
        var src = _bin + byteOffset;
        switch (DType)
        {
            case IndexedDatasetDType.UInt16:
                for (var k = 0; k < destination.Length; k++)
                {
                    destination[k] = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(src + (k * 2), 2));
                }

                break;
            case IndexedDatasetDType.Int32:
                for (var k = 0; k < destination.Length; k++)
                {
                    destination[k] = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(src + (k * 4), 4));
                }

                break;
            case IndexedDatasetDType.UInt8:
                for (var k = 0; k < destination.Length; k++)
                {
                    destination[k] = src[k];
                }

                break;
            case IndexedDatasetDType.Int64:
                for (var k = 0; k < destination.Length; k++)
                {
                    destination[k] = checked((int)BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(src + (k * 8), 8)));
                }

                break;
            default:
                throw new NotSupportedException($"{Prefix}: token dtype {DType} is not an integer type");
        }
    }

    private void CheckSequence(long i)
    {
        if ((ulong)i >= (ulong)SequenceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, $"sequence index outside [0, {SequenceCount})");
        }
    }

    public void Dispose()
    {
        _idxView.SafeMemoryMappedViewHandle.ReleasePointer();
        _idxView.Dispose();
        _idxFile.Dispose();
        if (_binView is not null)
        {
            _binView.SafeMemoryMappedViewHandle.ReleasePointer();
            _binView.Dispose();
            _binFile!.Dispose();
        }
    }
}
