namespace Jiniac.Formats.Safetensors;

/// <summary>What a writer is told about one tensor before its data is written.</summary>
public sealed record SafetensorsTensorSpec(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            for (var i = 0; i < Shape.Count; i++)
            {
                if (Shape[i] < 0)
                {
                    throw new ArgumentException($"tensor '{Name}': negative dimension {Shape[i]}");
                }

                n = checked(n * Shape[i]);
            }

            return n;
        }
    }

    public long ByteLength => checked(ElementCount * SafetensorsDTypes.Size(DType));
}

/// <summary>One header entry: <see cref="Begin"/>/<see cref="End"/> are relative to the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long ElementCount => ByteLength / SafetensorsDTypes.Size(DType);
}
