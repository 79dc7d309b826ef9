namespace Jiniac.Text.Bpe;

/// <summary>
/// GPT-2's reversible byte ↔ printable-char mapping (openai/gpt-2 encoder.py bytes_to_unicode, HF
/// tokenizers byte_level.rs): printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards.
/// </summary>
public static class ByteLevel
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte(ByteToChar);

    /// <summary>The mapped char of a byte.</summary>
    public static char ToChar(byte b) => ByteToChar[b];

    /// <summary>The byte a mapped char stands for, or -1 when the char is not one of the 256.</summary>
    public static int ToByte(char c) => c < CharToByte.Length ? CharToByte[c] : -1;

    /// <summary>The 256 mapped chars in code point order: the order HF's trainer adds its initial alphabet in.</summary>
    public static char[] AlphabetInCodePointOrder()
    {
        var chars = (char[])ByteToChar.Clone();
        Array.Sort(chars);
        return chars;
    }

    /// <summary>Maps UTF-8 bytes to their chars; <paramref name="destination"/> must be as long as <paramref name="bytes"/>.</summary>
    public static void Map(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[i] = ByteToChar[bytes[i]];
        }
    }

    /// <summary>The byte-level string of a text (UTF-8 bytes, each mapped).</summary>
    public static string Map(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (span, b) => Map(b, span));
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        for (var b = '!'; b <= '~'; b++)
        {
            map[b] = b;
            assigned[b] = true;
        }

        for (var b = '¡'; b <= '¬'; b++)
        {
            map[b] = b;
            assigned[b] = true;
        }

        for (var b = '®'; b <= 'ÿ'; b++)
        {
            map[b] = b;
            assigned[b] = true;
        }

        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                map[b] = (char)(256 + n);
                n++;
            }
        }

        return map;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (var b = 0; b < 256; b++)
        {
            map[byteToChar[b]] = (short)b;
        }

        return map;
    }
}
