namespace Jiniac.Formats.Megatron;

/// <summary>dtype codes of Megatron's indexed dataset (reference/megatron-indexed-dataset.md).</summary>
public enum IndexedDatasetDType : byte
{
    UInt8 = 1,
    Int8 = 2,
    Int16 = 3,
    Int32 = 4,
    Int64 = 5,
    Float64 = 6,
    Float32 = 7,
    UInt16 = 8,
}

public static class IndexedDatasetDTypes
{
    public static int ItemSize(IndexedDatasetDType dtype) => dtype switch
    {
        IndexedDatasetDType.UInt8 or IndexedDatasetDType.Int8 => 1,
        IndexedDatasetDType.Int16 or IndexedDatasetDType.UInt16 => 2,
        IndexedDatasetDType.Int32 or IndexedDatasetDType.Float32 => 4,
        IndexedDatasetDType.Int64 or IndexedDatasetDType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown indexed dataset dtype"),
    };

    /// <summary>Megatron's rule (preprocess_data.py / DType.optimal_dtype): uint16 below 65,500 entries, else int32.</summary>
    public static IndexedDatasetDType ForVocabulary(int vocabSize) =>
        vocabSize < 65_500 ? IndexedDatasetDType.UInt16 : IndexedDatasetDType.Int32;
}
