using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace Jiniac.Ingest.Reading;

/// <summary>Turns a document file's bytes into a string: UTF-8 (BOM stripped); HTML may declare another charset (Shift_JIS, EUC-JP, ...).</summary>
internal static partial class DocumentDecoder
{
    /// <summary>False when the bytes are not valid UTF-8 and (for HTML) declare no charset .NET knows; <paramref name="badLine"/> is the line of the first bad byte.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, bool html, out string text, out long badLine)
    {
        if (bytes.StartsWith("\xEF\xBB\xBF"u8))
        {
            bytes = bytes[3..];
        }

        badLine = 0;
        if (Utf8.IsValid(bytes))
        {
            text = Encoding.UTF8.GetString(bytes);
            return true;
        }

        if (html && DeclaredEncoding(bytes) is { } encoding)
        {
            text = encoding.GetString(bytes);
            return true;
        }

        text = "";
        badLine = LineOfFirstInvalidByte(bytes);
        return false;
    }

    internal static long LineOfFirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        var valid = ValidPrefixLength(bytes);
        return bytes[..valid].Count((byte)'\n') + 1;
    }

    private static int ValidPrefixLength(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed);
            if (status != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    private static Encoding? DeclaredEncoding(ReadOnlySpan<byte> bytes)
    {
        // The declaration must be in the first 1024 bytes (HTML's prescan), written in ASCII.
        var head = Encoding.Latin1.GetString(bytes[..Math.Min(bytes.Length, 1024)]);
        var match = CharsetPattern().Match(head);
        if (!match.Success)
        {
            return null;
        }

        var name = match.Groups[1].Value;
        try
        {
            return Encoding.GetEncoding(name);
        }
        catch (ArgumentException)
        {
            // Legacy code pages (Shift_JIS, EUC-JP, windows-125x) come from the provider without registering it process-wide.
            return CodePagesEncodingProvider.Instance.GetEncoding(name);
        }
    }

    [GeneratedRegex("""charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CharsetPattern();
}
