using System.Text;

namespace Jiniac.Bench;

/// <summary>
/// The documents a benchmark encodes. The split rule is deliberately trivial (exact "\n\n" or "\n", CRLF
/// folded to LF, empty pieces dropped) so tools/bench/hf-tokenize.js can reproduce it byte for byte.
/// </summary>
internal sealed class Documents
{
    private Documents(string[] texts, long utf8Bytes)
    {
        Texts = texts;
        Utf8Bytes = utf8Bytes;
    }

    public string[] Texts { get; }

    /// <summary>UTF-8 bytes of all documents (separators excluded): the "MB" of MB/s.</summary>
    public long Utf8Bytes { get; }

    public static Documents Load(string path, bool byLine)
    {
        var text = File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)).Replace("\r\n", "\n", StringComparison.Ordinal);
        var pieces = text.Split(byLine ? "\n" : "\n\n", StringSplitOptions.RemoveEmptyEntries);
        long bytes = 0;
        foreach (var p in pieces)
        {
            bytes += Encoding.UTF8.GetByteCount(p);
        }

        return new Documents(pieces, bytes);
    }
}
