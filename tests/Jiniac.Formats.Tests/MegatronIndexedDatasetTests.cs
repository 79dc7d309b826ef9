using Jiniac.Formats.Megatron;

namespace Jiniac.Formats.Tests;

/// <summary>
/// The writer and reader against the layout of shared/reference/megatron-indexed-dataset.md
/// (megatron/core/datasets/indexed_dataset.py): golden bytes built by hand from that table.
/// </summary>
public sealed class MegatronIndexedDatasetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jiniac-megatron-" + Guid.NewGuid().ToString("N"));

    public MegatronIndexedDatasetTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Three documents of 3, 1 and 2 uint16 tokens, one sequence each.
    private static readonly byte[] GoldenIdx =
    [
        0x4D, 0x4D, 0x49, 0x44, 0x49, 0x44, 0x58, 0x00, 0x00, // magic "MMIDIDX\0\0"
        1, 0, 0, 0, 0, 0, 0, 0,                               // version 1 (u64)
        8,                                                    // dtype 8 = uint16
        3, 0, 0, 0, 0, 0, 0, 0,                               // sequence count S = 3
        4, 0, 0, 0, 0, 0, 0, 0,                               // document index entries = 3 + 1
        3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,                   // lengths int32[3]
        0, 0, 0, 0, 0, 0, 0, 0,                               // pointers int64[3]: 0,
        6, 0, 0, 0, 0, 0, 0, 0,                               //   3 tokens × 2 bytes,
        8, 0, 0, 0, 0, 0, 0, 0,                               //   + 1 × 2
        0, 0, 0, 0, 0, 0, 0, 0,                               // document indices int64[4]: 0, 1, 2, 3
        1, 0, 0, 0, 0, 0, 0, 0,
        2, 0, 0, 0, 0, 0, 0, 0,
        3, 0, 0, 0, 0, 0, 0, 0,
    ];

    private static readonly byte[] GoldenBin = [10, 0, 11, 0, 0xFF, 0xFF, 7, 0, 1, 2, 3, 4];

    private string Write(string name, IndexedDatasetDType dtype, params int[][] docs)
    {
        var prefix = Path.Combine(_dir, name);
        using var writer = new IndexedDatasetWriter(prefix, dtype);
        foreach (var d in docs)
        {
            writer.AddDocument(d);
        }

        writer.Complete();
        return prefix;
    }

    [Fact]
    public void Writer_produces_the_reference_bytes()
    {
        var prefix = Write("golden", IndexedDatasetDType.UInt16, [10, 11, 65535], [7], [513, 1027]);
        Assert.Equal(GoldenIdx, File.ReadAllBytes(prefix + ".idx"));
        Assert.Equal(GoldenBin, File.ReadAllBytes(prefix + ".bin"));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp~"));
    }

    [Fact]
    public void Reader_reads_the_reference_bytes()
    {
        var prefix = Path.Combine(_dir, "handmade");
        File.WriteAllBytes(prefix + ".idx", GoldenIdx);
        File.WriteAllBytes(prefix + ".bin", GoldenBin);
        using var ds = IndexedDataset.Open(prefix);
        Assert.Equal(IndexedDatasetDType.UInt16, ds.DType);
        Assert.Equal(3, ds.SequenceCount);
        Assert.Equal(3, ds.DocumentCount);
        Assert.Equal(6, ds.TotalTokens);
        Assert.Equal([10, 11, 65535], ds.GetSequence(0));
        Assert.Equal([7], ds.GetSequence(1));
        Assert.Equal([513, 1027], ds.GetSequence(2));
        Assert.Equal(8, ds.GetSequencePointer(2));
        Assert.Equal(3, ds.GetDocumentIndex(3));
        var window = new int[3];
        ds.ReadTokens(2, window);
        Assert.Equal([65535, 7, 513], window);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetSequence(3));
    }

    [Fact]
    public void Int32_round_trip_keeps_large_ids()
    {
        var prefix = Write("wide", IndexedDatasetDType.Int32, [200_000, 0, 128_001], [], [5]);
        using var ds = IndexedDataset.Open(prefix);
        Assert.Equal(IndexedDatasetDType.Int32, ds.DType);
        Assert.Equal(4, ds.ItemSize);
        Assert.Equal([200_000, 0, 128_001], ds.GetSequence(0));
        Assert.Empty(ds.GetSequence(1));
        Assert.Equal([5], ds.GetSequence(2));
        Assert.Equal(12, ds.GetSequencePointer(2));
        Assert.Equal(16, new FileInfo(prefix + ".bin").Length);
    }

    [Theory]
    [InlineData(1000, IndexedDatasetDType.UInt16)]
    [InlineData(65_499, IndexedDatasetDType.UInt16)]
    [InlineData(65_500, IndexedDatasetDType.Int32)]
    [InlineData(200_019, IndexedDatasetDType.Int32)]
    public void Dtype_follows_megatrons_vocabulary_rule(int vocab, IndexedDatasetDType expected) =>
        Assert.Equal(expected, IndexedDatasetDTypes.ForVocabulary(vocab));

    [Fact]
    public void Uint16_writer_refuses_ids_that_do_not_fit()
    {
        using var writer = new IndexedDatasetWriter(Path.Combine(_dir, "narrow"), IndexedDatasetDType.UInt16);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddDocument([65536]));
    }

    [Fact]
    public void Bad_magic_and_truncated_files_are_refused()
    {
        var prefix = Path.Combine(_dir, "bad");
        var idx = (byte[])GoldenIdx.Clone();
        idx[0] = (byte)'X';
        File.WriteAllBytes(prefix + ".idx", idx);
        File.WriteAllBytes(prefix + ".bin", GoldenBin);
        Assert.Contains("bad magic", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
        File.WriteAllBytes(prefix + ".idx", GoldenIdx[..20]);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
        File.WriteAllBytes(prefix + ".idx", GoldenIdx[..^8]);
        Assert.Contains("promises", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
        File.WriteAllBytes(prefix + ".idx", GoldenIdx);
        File.WriteAllBytes(prefix + ".bin", GoldenBin[..10]);
        Assert.Contains("points to byte 12", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
        var dtype = (byte[])GoldenIdx.Clone();
        dtype[17] = 9;
        File.WriteAllBytes(prefix + ".idx", dtype);
        Assert.Contains("unknown dtype code 9", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
        var version = (byte[])GoldenIdx.Clone();
        version[9] = 2;
        File.WriteAllBytes(prefix + ".idx", version);
        Assert.Contains("version 2", Assert.Throws<InvalidDataException>(() => IndexedDataset.Open(prefix)).Message);
    }

    [Fact]
    public void An_abandoned_writer_leaves_no_files()
    {
        var prefix = Path.Combine(_dir, "abandoned");
        using (var writer = new IndexedDatasetWriter(prefix, IndexedDatasetDType.UInt16))
        {
            writer.AddDocument([1, 2, 3]);
        }

        Assert.Empty(Directory.GetFiles(_dir));
    }
}
