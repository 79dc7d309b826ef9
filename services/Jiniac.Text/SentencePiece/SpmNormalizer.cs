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

    private readonly Charsmap? _charsmap;
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
        _charsmap = model.PrecompiledCharsmap.Length == 0 ? null : new Charsmap(model.PrecompiledCharsmap, $"{source}: precompiled_charsmap of normalizer '{model.NormalizerName}'");
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

        var (longest, value) = _charsmap?.LongestPrefix(input) ?? (0, 0);
        if (longest == 0)
        {
            var length = ValidUtf8Length(input);
            // A malformed byte becomes U+FFFD, one byte consumed.
            consumed = Math.Max(length, 1);
            return length == 0 ? Replacement : input[..length];
        }

        consumed = longest;
        return _charsmap!.Replacement(value);
    }

    private static int ValidUtf8Length(ReadOnlySpan<byte> input)
    {
        var status = System.Text.Rune.DecodeFromUtf8(input, out _, out var consumed);
        return status == System.Buffers.OperationStatus.Done ? consumed : 0;
    }
}
