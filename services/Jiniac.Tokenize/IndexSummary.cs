using System.Buffers.Binary;
using Jiniac.Formats.Megatron;

namespace Jiniac.Tokenize;

/// <summary>Document and token counts read from a Megatron .idx stream (reference/megatron-indexed-dataset.md) without its .bin.</summary>
internal static class IndexSummary
{
    public static async Task<(long Documents, long Tokens)> ReadAsync(Stream idx, CancellationToken cancellationToken)
    {
        var header = new byte[34];
        await idx.ReadExactlyAsync(header, cancellationToken);
        if (!header.AsSpan(0, 9).SequenceEqual(IndexedDatasetWriter.Magic) || BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(9)) != 1)
        {
            throw new InvalidDataException("not a version 1 Megatron index");
        }

        var sequences = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(18)));
        var documents = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(26))) - 1;
        long tokens = 0;
        var buffer = new byte[4 * 16384];
        for (long left = sequences; left > 0;)
        {
            var n = (int)Math.Min(left, 16384);
            await idx.ReadExactlyAsync(buffer.AsMemory(0, n * 4), cancellationToken);
            for (var i = 0; i < n; i++)
            {
                tokens += BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(i * 4));
            }

            left -= n;
        }

        return (documents, tokens);
    }
}
