namespace Jiniac.Formats.Safetensors;

/// <summary>
/// safetensors dtypes, in the order of the Rust crate's <c>Dtype</c> enum. The order matters: its
/// writer sorts tensors by descending dtype (a proxy for alignment), then by name.
/// </summary>
public enum SafetensorsDType
{
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

public static class SafetensorsDTypes
{
    public static int Size(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8E5M2 or SafetensorsDType.F8E4M3 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
    };

    /// <summary>The header spelling ("F32", "BF16", "F8_E4M3", …).</summary>
    public static string ToHeaderString(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool => "BOOL",
        SafetensorsDType.U8 => "U8",
        SafetensorsDType.I8 => "I8",
        SafetensorsDType.F8E5M2 => "F8_E5M2",
        SafetensorsDType.F8E4M3 => "F8_E4M3",
        SafetensorsDType.I16 => "I16",
        SafetensorsDType.U16 => "U16",
        SafetensorsDType.F16 => "F16",
        SafetensorsDType.BF16 => "BF16",
        SafetensorsDType.I32 => "I32",
        SafetensorsDType.U32 => "U32",
        SafetensorsDType.F32 => "F32",
        SafetensorsDType.F64 => "F64",
        SafetensorsDType.I64 => "I64",
        SafetensorsDType.U64 => "U64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
    };

    public static bool TryParse(string? text, out SafetensorsDType dtype)
    {
        switch (text)
        {
            case "BOOL": dtype = SafetensorsDType.Bool; return true;
            case "U8": dtype = SafetensorsDType.U8; return true;
            case "I8": dtype = SafetensorsDType.I8; return true;
            case "F8_E5M2": dtype = SafetensorsDType.F8E5M2; return true;
            case "F8_E4M3": dtype = SafetensorsDType.F8E4M3; return true;
            case "I16": dtype = SafetensorsDType.I16; return true;
            case "U16": dtype = SafetensorsDType.U16; return true;
            case "F16": dtype = SafetensorsDType.F16; return true;
            case "BF16": dtype = SafetensorsDType.BF16; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "U32": dtype = SafetensorsDType.U32; return true;
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "F64": dtype = SafetensorsDType.F64; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            case "U64": dtype = SafetensorsDType.U64; return true;
            default: dtype = default; return false;
        }
    }
}
