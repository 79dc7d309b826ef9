namespace Jiniac.Formats.Safetensors;

/// <summary>float32 → bfloat16 as torch's <c>.to(torch.bfloat16)</c> does (c10 round_to_nearest_even): round to nearest, ties to even; any NaN becomes 0x7FC0.</summary>
public static class BFloat16
{
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length != source.Length)
        {
            throw new ArgumentException($"{source.Length} values need {source.Length} bfloat16 slots, got {destination.Length}", nameof(destination));
        }

        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = FromSingle(source[i]);
        }
    }
}
