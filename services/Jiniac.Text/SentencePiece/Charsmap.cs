using System.Buffers.Binary;

namespace Jiniac.Text.SentencePiece;

/// <summary>
/// A SentencePiece precompiled_charsmap: <c>&lt;trie size (4 bytes LE)&gt;&lt;darts-clone double array&gt;&lt;NUL-terminated
/// replacements&gt;</c>; the trie maps byte strings to offsets of their replacements.
/// </summary>
internal sealed class Charsmap
{
    private readonly uint[] _units;
    private readonly byte[] _replacements;

    public Charsmap(byte[] blob, string what)
    {
        var trieSize = blob.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(blob) : uint.MaxValue;
        if (trieSize >= blob.Length - 4 || trieSize % 4 != 0 || trieSize == 0)
        {
            throw new InvalidDataException($"{what} is malformed");
        }

        _units = new uint[trieSize / 4];
        for (var i = 0; i < _units.Length; i++)
        {
            _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + (4 * i)));
        }

        _replacements = blob[(4 + (int)trieSize)..];
    }

    /// <summary>sentencepiece's choice: the longest rule among the first 32 prefix matches, as (length, value), or (0, 0).</summary>
    public (int Length, int Value) LongestPrefix(ReadOnlySpan<byte> input)
    {
        var (longest, value, results) = (0, 0, 0);
        Search(input, stopAtNul: false, (length, v) =>
        {
            if (results++ < 32 && length > longest)
            {
                (longest, value) = (length, v);
            }

            return true;
        });
        return (longest, value);
    }

    /// <summary>HF's spm_precompiled transform: the replacement of the first (shortest) prefix match, or null.</summary>
    public byte[]? FirstPrefixReplacement(ReadOnlySpan<byte> input)
    {
        var found = -1;
        Search(input, stopAtNul: true, (_, v) =>
        {
            found = v;
            return false;
        });
        return found < 0 ? null : Replacement(found).ToArray();
    }

    public ReadOnlySpan<byte> Replacement(int value)
    {
        var end = Array.IndexOf(_replacements, (byte)0, value);
        return _replacements.AsSpan(value, (end < 0 ? _replacements.Length : end) - value);
    }

    // darts-clone DoubleArray::commonPrefixSearch: each leaf met along the key, shortest first, until onMatch says stop.
    private void Search(ReadOnlySpan<byte> key, bool stopAtNul, Func<int, int, bool> onMatch)
    {
        uint nodePos = 0;
        var unit = _units[0];
        nodePos ^= Offset(unit);
        for (var i = 0; i < key.Length; i++)
        {
            if (stopAtNul && key[i] == 0)
            {
                return;
            }

            nodePos ^= key[i];
            if (nodePos >= _units.Length)
            {
                return;
            }

            unit = _units[nodePos];
            if (Label(unit) != key[i])
            {
                return;
            }

            nodePos ^= Offset(unit);
            if (HasLeaf(unit) && nodePos < _units.Length && !onMatch(i + 1, (int)(_units[nodePos] & 0x7FFFFFFFu)))
            {
                return;
            }
        }
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
