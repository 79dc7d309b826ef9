using System.Buffers.Binary;

namespace Jiniac.Text.SentencePiece;

/// <summary>
/// SentencePiece's normalizer (normalizer.cc) on UTF-8 bytes: the longest rule of the precompiled charsmap (a
/// darts-clone double array over the input bytes; rules map to NUL-terminated replacements) at each position,
/// user-defined symbols passed through untouched, extra whitespace removed, the dummy ▁ prefix added and spaces
/// escaped to ▁, exactly as spm_encode does.
/// </summary>
internal sealed class SpmNormalizer
{
    private static readonly byte[] SpaceSymbol = [0xE2, 0x96, 0x81];
    private static readonly byte[] Replacement = [0xEF, 0xBF, 0xBD];

    private readonly uint[] _units;
    private readonly byte[] _replacements;
    private readonly byte[][] _userDefined;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly bool _suffix;

    public SpmNormalizer(ModelProto model, byte[][] userDefined, string source)
    {
        _userDefined = userDefined;
        _addDummyPrefix = model.AddDummyPrefix;
        _removeExtraWhitespaces = model.RemoveExtraWhitespaces;
        _escapeWhitespaces = model.EscapeWhitespaces;
        _suffix = model.TreatWhitespaceAsSuffix;
        var blob = model.PrecompiledCharsmap;
        if (blob.Length == 0)
        {
            _units = [];
            _replacements = [];
            return;
        }

        // <trie size (4 bytes LE)><double array trie><replacement strings>
        var trieSize = blob.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(blob) : uint.MaxValue;
        if (trieSize >= blob.Length - 4 || trieSize % 4 != 0)
        {
            throw new InvalidDataException($"{source}: precompiled_charsmap of normalizer '{model.NormalizerName}' is malformed");
        }

        _units = new uint[trieSize / 4];
        for (var i = 0; i < _units.Length; i++)
        {
            _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + (4 * i)));
        }

        _replacements = blob[(4 + (int)trieSize)..];
    }

    public byte[] Normalize(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>(input.Length + 8);
        if (_removeExtraWhitespaces)
        {
            // Leading whitespace (after normalisation) is dropped.
            while (!input.IsEmpty)
            {
                var rule = NormalizePrefix(input, out var consumed);
                if (!rule.SequenceEqual(" "u8))
                {
                    break;
                }

                input = input[consumed..];
            }
        }

        if (input.IsEmpty)
        {
            return [];
        }

        if (!_suffix && _addDummyPrefix)
        {
            AddSpace(output);
        }

        var previousSpace = _removeExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var rule = NormalizePrefix(input, out var consumed);
            if (previousSpace)
            {
                while (!rule.IsEmpty && rule[0] == (byte)' ')
                {
                    rule = rule[1..];
                }
            }

            if (!rule.IsEmpty)
            {
                foreach (var b in rule)
                {
                    if (_escapeWhitespaces && b == (byte)' ')
                    {
                        output.AddRange(SpaceSymbol);
                    }
                    else
                    {
                        output.Add(b);
                    }
                }

                previousSpace = rule[^1] == (byte)' ';
            }

            input = input[consumed..];
            if (!_removeExtraWhitespaces)
            {
                previousSpace = false;
            }
        }

        if (_removeExtraWhitespaces)
        {
            ReadOnlySpan<byte> space = _escapeWhitespaces ? SpaceSymbol : " "u8;
            while (output.Count >= space.Length && System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output)[^space.Length..].SequenceEqual(space))
            {
                output.RemoveRange(output.Count - space.Length, space.Length);
            }
        }

        if (_suffix && _addDummyPrefix)
        {
            AddSpace(output);
        }

        return [.. output];
    }

    private void AddSpace(List<byte> output)
    {
        if (_escapeWhitespaces)
        {
            output.AddRange(SpaceSymbol);
        }
        else
        {
            output.Add((byte)' ');
        }
    }

    /// <summary>The replacement of the longest rule at the start of <paramref name="input"/> and how many bytes it consumes.</summary>
    private ReadOnlySpan<byte> NormalizePrefix(ReadOnlySpan<byte> input, out int consumed)
    {
        var user = 0;
        foreach (var symbol in _userDefined)
        {
            if (symbol.Length > user && input.StartsWith(symbol))
            {
                user = symbol.Length;
            }
        }

        if (user > 0)
        {
            consumed = user;
            return input[..user];
        }

        var longest = 0;
        var value = 0;
        if (_units.Length > 0)
        {
            // darts-clone DoubleArray::commonPrefixSearch (at most 32 results, as sentencepiece asks).
            var results = 0;
            uint nodePos = 0;
            var unit = _units[0];
            nodePos ^= Offset(unit);
            for (var i = 0; i < input.Length; i++)
            {
                nodePos ^= input[i];
                if (nodePos >= _units.Length)
                {
                    break;
                }

                unit = _units[nodePos];
                if (Label(unit) != input[i])
                {
                    break;
                }

                nodePos ^= Offset(unit);
                if (HasLeaf(unit) && nodePos < _units.Length)
                {
                    if (results < 32 && i + 1 > longest)
                    {
                        longest = i + 1;
                        value = (int)(_units[nodePos] & 0x7FFFFFFFu);
                    }

                    results++;
                }
            }
        }

        if (longest == 0)
        {
            var length = ValidUtf8Length(input);
            // A malformed byte becomes U+FFFD, one byte consumed.
            consumed = Math.Max(length, 1);
            return length == 0 ? Replacement : input[..length];
        }

        var end = Array.IndexOf(_replacements, (byte)0, value);
        consumed = longest;
        return _replacements.AsSpan(value, (end < 0 ? _replacements.Length : end) - value);
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    private static int ValidUtf8Length(ReadOnlySpan<byte> input)
    {
        var status = System.Text.Rune.DecodeFromUtf8(input, out _, out var consumed);
        return status == System.Buffers.OperationStatus.Done ? consumed : 0;
    }
}
