using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Jiniac.Ingest.Cleaning;

/// <summary>The kinds of PII (the keys of the report's "pii" counts) and their replacement tokens.</summary>
public static class PiiKinds
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string MyNumber = "mynumber";
    public const string Card = "card";
    public const string Ip = "ip";

    public static string TokenOf(string kind) => kind switch
    {
        Email => "<EMAIL>",
        Phone => "<PHONE>",
        MyNumber => "<MYNUMBER>",
        Card => "<CARD>",
        _ => "<IP>",
    };
}

/// <summary>
/// Replaces e-mail addresses, phone numbers (Japanese formats and +CC international), My Numbers
/// (12 digits with the official check digit), payment card numbers (13–19 digits, Luhn) and IPv4/IPv6
/// addresses with tokens. Code-aware: fenced code blocks and lines that look like source code are left
/// alone, and a number that is part of a version string ("v1.2.3.4", "1.2.3.4.5"), a hex hash or an
/// identifier is not a candidate, because general PII tools flag exactly those in code and docs.
/// </summary>
internal sealed partial class PiiRedactor
{
    private readonly bool _email;
    private readonly bool _phone;
    private readonly bool _myNumber;
    private readonly bool _card;
    private readonly bool _ip;
    private static readonly System.Buffers.SearchValues<char> Triggers = System.Buffers.SearchValues.Create("@:0123456789");
    private readonly StringBuilder _sb = new();

    public PiiRedactor(IReadOnlyList<string> kinds)
    {
        foreach (var kind in kinds)
        {
            switch (kind)
            {
                case PiiKinds.Email: _email = true; break;
                case PiiKinds.Phone: _phone = true; break;
                case PiiKinds.MyNumber: _myNumber = true; break;
                case PiiKinds.Card: _card = true; break;
                case PiiKinds.Ip: _ip = true; break;
            }
        }
    }

    /// <summary>Hits of each kind in the last <see cref="Redact"/> call.</summary>
    public int Emails { get; private set; }
    public int Phones { get; private set; }
    public int MyNumbers { get; private set; }
    public int Cards { get; private set; }
    public int Ips { get; private set; }

    public string Redact(string text)
    {
        Emails = Phones = MyNumbers = Cards = Ips = 0;
        var hasAt = _email && text.Contains('@');
        var hasDigit = (_phone || _myNumber || _card || _ip) && text.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        var hasColon = _ip && text.Contains(':');
        if (!hasAt && !hasDigit && !hasColon)
        {
            return text;
        }

        _sb.Clear();
        var changed = false;
        var fence = false;
        var pos = 0;
        while (pos <= text.Length)
        {
            var nl = text.IndexOf('\n', pos);
            var end = nl < 0 ? text.Length : nl;
            var line = text.AsSpan(pos, end - pos);
            var trimmed = line.TrimStart();
            var isFence = trimmed.StartsWith("```") || trimmed.StartsWith("~~~");
            if (isFence)
            {
                fence = !fence;
            }

            // Only a line with a trigger character can hold PII; the code check and the regexes are for those.
            if (isFence || fence || line.IndexOfAny(Triggers) < 0 || CodeLines.LooksLikeCode(line))
            {
                _sb.Append(line);
            }
            else
            {
                changed |= RedactLine(text.Substring(pos, end - pos), hasAt, hasDigit, hasColon);
            }

            if (nl < 0)
            {
                break;
            }

            _sb.Append('\n');
            pos = nl + 1;
        }

        return changed ? _sb.ToString() : text;
    }

    private bool RedactLine(string line, bool hasAt, bool hasDigit, bool hasColon)
    {
        var current = line;
        if (hasAt && current.Contains('@'))
        {
            current = EmailPattern().Replace(current, _ =>
            {
                Emails++;
                return PiiKinds.TokenOf(PiiKinds.Email);
            });
        }

        // An IPv6 address has "::" or seven colons; without them the hex-letter pattern would be tried at every word.
        if (hasColon && (current.Contains("::", StringComparison.Ordinal) || current.AsSpan().Count(':') >= 7))
        {
            current = Ipv6Pattern().Replace(current, m =>
            {
                if (!IsPublicIpv6(m.Value))
                {
                    return m.Value;
                }

                Ips++;
                return PiiKinds.TokenOf(PiiKinds.Ip);
            });
        }

        if (hasDigit && current.AsSpan().IndexOfAnyInRange('0', '9') >= 0)
        {
            if (_ip)
            {
                current = Ipv4Pattern().Replace(current, m =>
                {
                    if (!IsPublicIpv4(m.Value) || IsVersionContext(current, m.Index) || IsSectionNumber(current, m.Index, m.Length))
                    {
                        return m.Value;
                    }

                    Ips++;
                    return PiiKinds.TokenOf(PiiKinds.Ip);
                });
            }

            current = NumberPattern().Replace(current, m =>
            {
                var kind = Classify(m.Value);
                if (kind is null)
                {
                    return m.Value;
                }

                switch (kind)
                {
                    case PiiKinds.Phone: Phones++; break;
                    case PiiKinds.MyNumber: MyNumbers++; break;
                    default: Cards++; break;
                }

                return PiiKinds.TokenOf(kind);
            });
        }

        _sb.Append(current);
        return !ReferenceEquals(current, line) && current != line;
    }

    /// <summary>Which kind a digit run with separators is, or null. The run's shape decides before any checksum does.</summary>
    internal string? Classify(string candidate)
    {
        Span<byte> digits = stackalloc byte[32];
        var n = 0;
        var groups = 1;
        var hyphens = 0;
        var spaces = 0;
        var parens = false;
        Span<int> groupLengths = stackalloc int[16];
        var groupLength = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (n == digits.Length)
                {
                    return null;
                }

                digits[n++] = (byte)(c - '0');
                groupLength++;
            }
            else if (c is '-' or ' ' or '(' or ')')
            {
                hyphens += c == '-' ? 1 : 0;
                spaces += c == ' ' ? 1 : 0;
                parens |= c is '(' or ')';
                if (groupLength > 0)
                {
                    if (groups > groupLengths.Length)
                    {
                        return null;
                    }

                    groupLengths[groups - 1] = groupLength;
                    groups++;
                    groupLength = 0;
                }
            }
        }

        if (groupLength > 0 && groups <= groupLengths.Length)
        {
            groupLengths[groups - 1] = groupLength;
        }
        else
        {
            groups--;
        }

        var number = digits[..n];
        var international = candidate[0] == '+';
        if (international)
        {
            // +CC then a national number: E.164 allows at most 15 digits; real numbers have at least 8.
            return _phone && n is >= 8 and <= 15 && groups >= 2 ? PiiKinds.Phone : null;
        }

        if (number[0] == 0)
        {
            // Japanese numbers start with the trunk prefix 0: landlines have 10 digits (03-1234-5678,
            // (03) 1234-5678, 0120-123-456), mobiles and IP phones 11 (090-1234-5678, 050-...).
            var mobile = n == 11 && number[1] is 5 or 7 or 8 or 9 && number[2] == 0;
            var shaped = groups == 3 || (groups == 1 && !parens) || (parens && groups >= 3);
            return _phone && (n == 10 || mobile) && shaped ? PiiKinds.Phone : null;
        }

        if (n == 12 && (groups == 1 || (groups == 3 && groupLengths[0] == 4 && groupLengths[1] == 4 && groupLengths[2] == 4)))
        {
            return _myNumber && IsMyNumber(number) ? PiiKinds.MyNumber : null;
        }

        if (n is >= 13 and <= 19 && !parens && (groups == 1 || CardGroups(groupLengths[..groups])) && hyphens * spaces == 0)
        {
            // Issuer prefixes: 3 (Amex, JCB, Diners), 4 (Visa), 5 and 2221–2720 (Mastercard), 6 (Discover, UnionPay).
            var iin = number[0] * 1000 + number[1] * 100 + number[2] * 10 + number[3];
            var issuer = number[0] is 3 or 4 or 5 or 6 || iin is >= 2221 and <= 2720;
            return _card && issuer && Luhn(number) ? PiiKinds.Card : null;
        }

        return null;
    }

    // 4-4-4-4(-3), 4-6-5 (Amex), 4-6-4 (Diners).
    private static bool CardGroups(ReadOnlySpan<int> groups)
    {
        if (groups.Length == 3 && groups[0] == 4 && groups[1] == 6 && groups[2] is 4 or 5)
        {
            return true;
        }

        if (groups.Length is < 4 or > 5)
        {
            return false;
        }

        for (var i = 0; i < groups.Length - 1; i++)
        {
            if (groups[i] != 4)
            {
                return false;
            }
        }

        return groups[^1] is >= 1 and <= 4;
    }

    /// <summary>The Luhn (mod 10) check over the digits, the last one being the check digit.</summary>
    internal static bool Luhn(ReadOnlySpan<byte> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i];
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    /// <summary>
    /// The My Number check digit (個人番号の検査用数字, 総務省令第85号 第5条): with P(n) the n-th digit counted
    /// from the right excluding the check digit and Q(n) = n+1 for n ≤ 6, n−5 for n ≥ 7, the check digit
    /// is 11 − (Σ P(n)Q(n) mod 11), or 0 when that remainder is 0 or 1.
    /// </summary>
    internal static bool IsMyNumber(ReadOnlySpan<byte> digits)
    {
        if (digits.Length != 12)
        {
            return false;
        }

        var sum = 0;
        for (var n = 1; n <= 11; n++)
        {
            var p = digits[11 - n];
            var q = n <= 6 ? n + 1 : n - 5;
            sum += p * q;
        }

        var remainder = sum % 11;
        var check = remainder <= 1 ? 0 : 11 - remainder;
        return digits[11] == check;
    }

    /// <summary>
    /// A dotted quad that is a public unicast address. As datatrove's PII formatter does by default, private,
    /// loopback, link-local, shared, documentation, multicast and reserved addresses are not personal
    /// data and stay (they fill network how-tos: 192.168.0.1, 10.0.0.0/8, 127.0.0.1).
    /// </summary>
    internal static bool IsPublicIpv4(string candidate)
    {
        Span<int> o = stackalloc int[4];
        var parts = 0;
        foreach (var range in candidate.AsSpan().Split('.'))
        {
            var part = candidate.AsSpan()[range];
            if (parts == 4 || part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || int.Parse(part) > 255)
            {
                return false;
            }

            o[parts++] = int.Parse(part);
        }

        if (parts != 4)
        {
            return false;
        }

        return !(o[0] is 0 or 10 or 127 or >= 224
            || (o[0] == 169 && o[1] == 254)
            || (o[0] == 172 && o[1] is >= 16 and <= 31)
            || (o[0] == 192 && o[1] == 168)
            || (o[0] == 100 && o[1] is >= 64 and <= 127)
            || (o[0] == 192 && o[1] == 0 && o[2] is 0 or 2)
            || (o[0] == 198 && o[1] is 18 or 19)
            || (o[0] == 198 && o[1] == 51 && o[2] == 100)
            || (o[0] == 203 && o[1] == 0 && o[2] == 113));
    }

    internal static bool IsPublicIpv6(string candidate)
    {
        if (!IsIpv6(candidate))
        {
            return false;
        }

        var bytes = IPAddress.Parse(candidate).GetAddressBytes();
        // Loopback/unspecified (::1, ::), link-local fe80::/10, unique-local fc00::/7, multicast ff00::/8, documentation 2001:db8::/32.
        var allZeroPrefix = bytes.AsSpan(0, 15).IndexOfAnyExcept((byte)0) < 0;
        return !(allZeroPrefix
            || (bytes[0] == 0xFE && (bytes[1] & 0xC0) == 0x80)
            || (bytes[0] & 0xFE) == 0xFC
            || bytes[0] == 0xFF
            || (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8));
    }

    // "#### 6.5.1.2. dpkg-deb", "1.2.3.4. Overview": a heading's section number, not an address.
    private static bool IsSectionNumber(string line, int index, int length)
    {
        var after = index + length;
        var followedByDot = after < line.Length && line[after] == '.';
        return followedByDot && line.AsSpan(0, index).TrimStart().TrimStart('#').Trim().IsEmpty;
    }

    private static bool IsIpv6(string candidate)
    {
        // Eight groups, or "::" compression with at least two groups; and it must parse.
        var colons = candidate.AsSpan().Count(':');
        var compressed = candidate.Contains("::", StringComparison.Ordinal);
        if (!(colons == 7 && !compressed) && !(compressed && colons >= 2 && candidate.Length >= 6))
        {
            return false;
        }

        return IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    // "version 1.2.3.4", "v1.2.3.4", "バージョン 10.0.19041.1", "build 6.1.7601.2": a version, not an address.
    private static bool IsVersionContext(string line, int index)
    {
        var before = line.AsSpan(0, index).TrimEnd();
        ReadOnlySpan<string> words = ["v", "version", "ver.", "ver", "release", "build", "バージョン", "版", "firmware", "kernel"];
        foreach (var word in words)
        {
            // A whole word: "server 93.184.216.34" is an address even though "server" ends in "ver".
            if (before.EndsWith(word, StringComparison.OrdinalIgnoreCase)
                && (before.Length == word.Length || !char.IsAsciiLetter(before[^(word.Length + 1)]) || !char.IsAsciiLetter(word[0])))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9_.+\-%])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9_\-])", RegexOptions.CultureInvariant)]
    internal static partial Regex EmailPattern();

    // ASCII classes only around the matches: Japanese glues numbers to kana ("携帯は090-1234-5678です").
    // Dotted quads not glued to letters, digits, dots or hyphens (so "1.2.3.4.5", "v1.2.3.4-rc" and "x1.2.3.4" are not candidates).
    [GeneratedRegex(@"(?<![A-Za-z0-9_.\-])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![A-Za-z0-9_\-]|\.[0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::[0-9A-Fa-f]{1,4}){0,6}(?:[0-9A-Fa-f]{1,4}|:)(?![A-Za-z0-9_:])|(?<![A-Za-z0-9_:])::(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4}(?![A-Za-z0-9_:.])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Pattern();

    // Digit runs with single space/hyphen separators and optional (area code) or +CC, not glued to letters,
    // other digits, dots, hyphens or underscores (which rules out hex hashes, identifiers and decimals).
    [GeneratedRegex(@"(?<![A-Za-z0-9_.\-+/:#])(?:\+[0-9]{1,3}[ \-]?)?(?:\([0-9]{1,5}\)[ \-]?)?[0-9](?:[ \-]?[0-9]){7,22}(?![A-Za-z0-9_\-]|[.,][0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();
}
