using System.Text;

namespace Jiniac.Text.Bpe;

/// <summary>One step of a HF decoder chain (tokenizers decoders/*.rs decode_chain), over the token strings.</summary>
internal abstract class DecoderStep
{
    public abstract void Apply(List<string> tokens);
}

/// <summary>Replace with a literal pattern in every token.</summary>
internal sealed class ReplaceDecoder(string pattern, string content) : DecoderStep
{
    public override void Apply(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            tokens[i] = tokens[i].Replace(pattern, content, StringComparison.Ordinal);
        }
    }
}

/// <summary>ByteFallback: runs of &lt;0xXX&gt; tokens become their UTF-8 text, or one U+FFFD per byte when invalid.</summary>
internal sealed class ByteFallbackDecoder : DecoderStep
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public override void Apply(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
            {
                bytes.Add(b);
                continue;
            }

            Flush(bytes, result);
            result.Add(token);
        }

        Flush(bytes, result);
        tokens.Clear();
        tokens.AddRange(result);
    }

    private static void Flush(List<byte> bytes, List<string> result)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        try
        {
            result.Add(Strict.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
        }
        catch (DecoderFallbackException)
        {
            for (var i = 0; i < bytes.Count; i++)
            {
                result.Add("\uFFFD");
            }
        }

        bytes.Clear();
    }
}

/// <summary>Fuse: all tokens joined into one.</summary>
internal sealed class FuseDecoder : DecoderStep
{
    public override void Apply(List<string> tokens)
    {
        var joined = string.Concat(tokens);
        tokens.Clear();
        tokens.Add(joined);
    }
}

/// <summary>Strip: up to <c>start</c> leading and <c>stop</c> trailing occurrences of a char removed from each token.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : DecoderStep
{
    public override void Apply(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            var from = 0;
            while (from < start && from < t.Length && t[from] == content)
            {
                from++;
            }

            var to = t.Length;
            while (t.Length - to < stop && to > from && t[to - 1] == content)
            {
                to--;
            }

            tokens[i] = t[from..to];
        }
    }
}

/// <summary>Metaspace: the replacement char becomes a space, except that the first token loses it when a prefix was prepended.</summary>
internal sealed class MetaspaceDecoder(char replacement, bool prefixAdded) : DecoderStep
{
    public override void Apply(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var sb = new StringBuilder(tokens[i].Length);
            foreach (var c in tokens[i])
            {
                if (c != replacement)
                {
                    sb.Append(c);
                }
                else if (i != 0 || !prefixAdded)
                {
                    sb.Append(' ');
                }
            }

            tokens[i] = sb.ToString();
        }
    }
}
