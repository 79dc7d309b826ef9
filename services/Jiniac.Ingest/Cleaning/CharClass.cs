namespace Jiniac.Ingest.Cleaning;

/// <summary>
/// One byte of flags per UTF-16 code unit (a 64 KB table built once from the char predicates), so the
/// per-character loops of the script statistics and the tokenizer are a lookup, not a chain of range
/// checks and Unicode category calls.
/// </summary>
internal static class CharClass
{
    public const byte Letter = 1;
    public const byte Digit = 2;
    public const byte Symbol = 4;
    public const byte Japanese = 8;
    public const byte Hiragana = 16;
    public const byte Katakana = 32;
    public const byte Latin = 64;
    public const byte Space = 128;

    public static readonly byte[] Table = Build();

    private static byte[] Build()
    {
        var table = new byte[65536];
        for (var i = 0; i < table.Length; i++)
        {
            var c = (char)i;
            byte f = 0;
            if (c <= ' ')
            {
                f = Space;
            }
            else if (c < '\u0080')
            {
                f = char.IsAsciiLetter(c) ? (byte)(Letter | Latin)
                    : char.IsAsciiDigit(c) ? Digit
                    : "#*{}<>[]\\^~_=@$%&+".Contains(c) ? Symbol
                    : (byte)0;
            }
            else if (IsJapanese(c))
            {
                f = (byte)(Letter | Japanese | (c is >= '\u3040' and <= '\u309F' ? Hiragana : c is >= '\u30A0' and <= '\u30FF' or >= '\u31F0' and <= '\u31FF' ? Katakana : 0));
            }
            else if (char.IsSurrogate(c))
            {
                f = 0;
            }
            else if (char.IsLetter(c))
            {
                f = (byte)(Letter | (c <= '\u024F' ? Latin : 0));
            }
            else if (char.IsDigit(c))
            {
                f = Digit;
            }
            else if (char.IsSymbol(c) && c is not ('\u3000' or '\u30FC'))
            {
                f = Symbol;
            }

            table[i] = f;
        }

        return table;
    }

    /// <summary>Kana (hiragana, katakana, the iteration mark and prolonged sound mark) and CJK ideographs.</summary>
    public static bool IsJapanese(char c) =>
        c is >= '\u3040' and <= '\u30FF' or >= '\u31F0' and <= '\u31FF' or >= '\u3400' and <= '\u4DBF'
            or >= '\u4E00' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF' or '\u3005' or '\u3006';
}
