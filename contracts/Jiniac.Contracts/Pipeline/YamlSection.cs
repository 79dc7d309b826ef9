using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Jiniac.Contracts.Pipeline;

/// <summary>Collects the problems of one pipeline file; the loader reports them all at once.</summary>
internal sealed class Diagnostics(string file)
{
    private readonly List<PipelineError> _errors = [];

    public int Count => _errors.Count;

    public void Add(Mark at, string path, string message) =>
        _errors.Add(new PipelineError(file, checked((int)at.Line), checked((int)at.Column), path, message));

    public void AddFileProblem(string message) => _errors.Add(new PipelineError(file, 0, 0, "", message));

    /// <summary>The problems in document order (cross-field checks are found after the fields they refer to).</summary>
    public PipelineValidationException ToException() =>
        new([.. _errors.Select((e, i) => (e, i)).OrderBy(x => x.e.Line).ThenBy(x => x.e.Column).ThenBy(x => x.i).Select(x => x.e)]);
}

/// <summary>Units a whole number may carry in the pipeline file.</summary>
internal enum NumberUnits
{
    None,
    /// <summary>k, M, B, T: ×10³, ×10⁶, ×10⁹, ×10¹² (token counts).</summary>
    Count,
    /// <summary>KiB, MiB, GiB: ×2¹⁰, ×2²⁰, ×2³⁰ (byte sizes).</summary>
    Bytes,
}

/// <summary>
/// Reads one YAML mapping of the pipeline file: typed values by key, each problem recorded with the
/// line of the node at fault. Keys a section never asked for are reported as unknown by <see cref="Finish"/>.
/// A section that is missing or not a mapping reads as "absent": every value is its default and no
/// further problems are reported for it, so one mistake does not cascade into many.
/// </summary>
internal sealed class YamlSection
{
    private readonly Diagnostics _diagnostics;
    private readonly YamlMappingNode? _map;
    private readonly Mark _anchor;
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly List<(YamlScalarNode Key, YamlNode Value)> _order = [];
    private readonly List<string> _known = [];
    private readonly HashSet<string> _bad = new(StringComparer.Ordinal);

    private YamlSection(Diagnostics diagnostics, YamlMappingNode? map, Mark anchor, string path)
    {
        _diagnostics = diagnostics;
        _map = map;
        _anchor = anchor;
        Path = path;
        if (map is null)
        {
            return;
        }

        foreach (var (key, value) in map.Children)
        {
            if (key is YamlScalarNode scalar && scalar.Value is { Length: > 0 } name)
            {
                // Duplicate keys are refused by the YAML parser itself, so TryAdd never drops one.
                _entries.TryAdd(name, (scalar, value));
                _order.Add((scalar, value));
            }
            else
            {
                diagnostics.Add(key.Start, path, "a key must be a plain name");
            }
        }
    }

    /// <summary>Where this section is in the document, e.g. <c>stages[1].sources[0]</c>; "" for the root.</summary>
    public string Path { get; }

    public bool IsPresent => _map is not null;

    /// <summary>Where problems about the section as a whole (a missing key) are reported.</summary>
    public Mark Anchor => _anchor;

    public Diagnostics Diagnostics => _diagnostics;

    public static YamlSection Root(Diagnostics diagnostics, YamlMappingNode map) => new(diagnostics, map, map.Start, "");

    /// <summary>A mapping found at <paramref name="path"/> (a sequence item, say); anything else is reported and reads as absent.</summary>
    public static YamlSection Of(Diagnostics diagnostics, YamlNode node, Mark anchor, string path)
    {
        if (node is YamlMappingNode map)
        {
            return new YamlSection(diagnostics, map, anchor, path);
        }

        diagnostics.Add(node.Start, path, $"must be a mapping of keys to values, not {Describe(node)}");
        return new YamlSection(diagnostics, null, anchor, path);
    }

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Whether the key is written (with a non-null value).</summary>
    public bool Has(string key) => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value);

    /// <summary>Whether checks on this key should run: the section exists and the key's value was read without a problem.</summary>
    public bool Ok(string key) => _map is not null && !_bad.Contains(key);

    /// <summary>
    /// Where a problem about <paramref name="key"/> is reported: a scalar value itself; the key when the value is
    /// null or a mapping/list (a block collection starts on the next line, which would point past the key); else the section.
    /// </summary>
    public Mark LocationOf(string key) =>
        _entries.TryGetValue(key, out var entry)
            ? (entry.Value is YamlScalarNode scalar && !IsNull(scalar) ? scalar.Start : entry.Key.Start)
            : _anchor;

    public void Error(string key, string message)
    {
        _bad.Add(key);
        if (_map is not null)
        {
            _diagnostics.Add(LocationOf(key), PathOf(key), message);
        }
    }

    /// <summary>Reports <paramref name="message"/> unless <paramref name="ok"/>; skipped when the key already has a problem.</summary>
    public void Check(string key, bool ok, string message)
    {
        if (!ok && Ok(key))
        {
            Error(key, message);
        }
    }

    public YamlSection? Section(string key, bool required)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required)
            {
                Missing(key);
                return new YamlSection(_diagnostics, null, LocationOf(key), PathOf(key));
            }

            return null;
        }

        if (node is not YamlMappingNode)
        {
            _bad.Add(key);
        }

        return Of(_diagnostics, node, _entries[key].Key.Start, PathOf(key));
    }

    /// <summary>The items of a sequence (null when absent); each with its path, e.g. <c>stages[2]</c>.</summary>
    public List<(YamlNode Node, string Path)>? Items(string key, bool required)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required)
            {
                Missing(key);
            }

            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Error(key, $"must be a list (lines starting with '- '), not {Describe(node)}");
            return null;
        }

        var items = new List<(YamlNode, string)>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            items.Add((sequence.Children[i], $"{PathOf(key)}[{i}]"));
        }

        return items;
    }

    public string? String(string key) => Scalar(key, "a text value");

    public string RequiredString(string key)
    {
        var value = String(key);
        if (value is null && Ok(key))
        {
            Missing(key);
        }

        return value ?? "";
    }

    /// <summary>A string or a list of strings; each with its path and location.</summary>
    public List<(string Value, Mark At, string Path)>? StringList(string key)
    {
        var node = Value(key);
        if (node is null)
        {
            return null;
        }

        var items = new List<(string, Mark, string)>();
        switch (node)
        {
            case YamlScalarNode scalar:
                items.Add((scalar.Value ?? "", scalar.Start, PathOf(key)));
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var item = sequence.Children[i];
                    var itemPath = $"{PathOf(key)}[{i}]";
                    if (item is YamlScalarNode s && !IsNull(s))
                    {
                        items.Add((s.Value ?? "", s.Start, itemPath));
                    }
                    else
                    {
                        _bad.Add(key);
                        _diagnostics.Add(item.Start, itemPath, $"must be a text value, not {Describe(item)}");
                    }
                }

                break;
            default:
                Error(key, $"must be a text value or a list of them, not {Describe(node)}");
                return null;
        }

        return items;
    }

    public int Int(string key, int defaultValue) => (int)(WholeNumber(key, NumberUnits.None, int.MinValue, int.MaxValue) ?? defaultValue);

    public int RequiredInt(string key) => (int)(RequiredWhole(key, NumberUnits.None, int.MinValue, int.MaxValue));

    public long Long(string key, long defaultValue, NumberUnits units = NumberUnits.None) =>
        WholeNumber(key, units, long.MinValue, long.MaxValue) ?? defaultValue;

    public long RequiredLong(string key, NumberUnits units = NumberUnits.None) => RequiredWhole(key, units, long.MinValue, long.MaxValue);

    public double? OptionalDouble(string key)
    {
        var text = Scalar(key, "a number");
        if (text is null)
        {
            return null;
        }

        if (TryParseDouble(text, out var value))
        {
            return value;
        }

        Error(key, $"must be a number, not '{text}'");
        return null;
    }

    public double Double(string key, double defaultValue) => OptionalDouble(key) ?? defaultValue;

    public double RequiredDouble(string key)
    {
        var value = OptionalDouble(key);
        if (value is null && Ok(key))
        {
            Missing(key);
        }

        return value ?? 0;
    }

    public bool Bool(string key, bool defaultValue)
    {
        var text = Scalar(key, "true or false");
        if (text is null)
        {
            return defaultValue;
        }

        if (text.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (text.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Error(key, $"must be true or false, not '{text}'");
        return defaultValue;
    }

    /// <summary>Reports every key this section never asked for, with the likeliest intended key.</summary>
    public void Finish()
    {
        foreach (var (key, _) in _order)
        {
            var name = key.Value!;
            if (_known.Contains(name))
            {
                continue;
            }

            var suggestion = KeySuggester.Suggest(name, _known);
            var message = suggestion is not null
                ? $"unknown key '{name}'; did you mean '{suggestion}'?"
                : $"unknown key '{name}'; expected one of: {string.Join(", ", _known)}";
            _diagnostics.Add(key.Start, PathOf(name), message);
        }
    }

    private long RequiredWhole(string key, NumberUnits units, long min, long max)
    {
        var value = WholeNumber(key, units, min, max);
        if (value is null && Ok(key))
        {
            Missing(key);
        }

        return value ?? 0;
    }

    private long? WholeNumber(string key, NumberUnits units, long min, long max)
    {
        var text = Scalar(key, "a whole number");
        if (text is null)
        {
            return null;
        }

        if (!TryParseWhole(text, units, out var value))
        {
            var hint = units switch
            {
                NumberUnits.Count => " (digits, '_' between digits, optionally ending in k, M, B or T)",
                NumberUnits.Bytes => " (digits, '_' between digits, optionally ending in KiB, MiB or GiB)",
                _ => "",
            };
            Error(key, $"must be a whole number{hint}, not '{text}'");
            return null;
        }

        if (value < min || value > max)
        {
            Error(key, $"{text} is out of range (at most {max})");
            return null;
        }

        return value;
    }

    private string? Scalar(string key, string expected)
    {
        var node = Value(key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? "";
        }

        Error(key, $"must be {expected}, not {Describe(node)}");
        return null;
    }

    private YamlNode? Value(string key)
    {
        if (!_known.Contains(key))
        {
            _known.Add(key);
        }

        if (_map is null)
        {
            _bad.Add(key);
            return null;
        }

        return _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value) ? entry.Value : null;
    }

    private void Missing(string key) =>
        Error(key, _entries.ContainsKey(key) ? "a value is required" : "is required but missing");

    /// <summary>A plain (unquoted) empty, '~' or 'null' scalar: YAML's null. A quoted "" is an empty string.</summary>
    internal static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "null",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "this",
    };

    internal static bool TryParseWhole(string text, NumberUnits units, out long value)
    {
        value = 0;
        var span = text.AsSpan().Trim();
        long multiplier = 1;
        if (units == NumberUnits.Count && span.Length > 1)
        {
            multiplier = span[^1] switch
            {
                'k' or 'K' => 1_000,
                'M' => 1_000_000,
                'B' or 'G' => 1_000_000_000,
                'T' => 1_000_000_000_000,
                _ => 1,
            };
        }
        else if (units == NumberUnits.Bytes && span.Length > 3 && span.EndsWith("iB", StringComparison.Ordinal))
        {
            multiplier = span[^3] switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => 1,
            };
        }

        if (multiplier > 1)
        {
            span = span[..^(units == NumberUnits.Bytes ? 3 : 1)].TrimEnd();
        }

        if (!TryRemoveUnderscores(span, out var digits))
        {
            return false;
        }

        if (long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            try
            {
                value = checked(whole * multiplier);
                return true;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        // "1.5M" or "2e6": allowed when the result is a whole number.
        if (double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            var scaled = (decimal)real * multiplier;
            if (scaled == decimal.Truncate(scaled) && scaled >= long.MinValue && scaled <= long.MaxValue)
            {
                value = (long)scaled;
                return true;
            }
        }

        return false;
    }

    internal static bool TryParseDouble(string text, out double value)
    {
        value = 0;
        return TryRemoveUnderscores(text.AsSpan().Trim(), out var digits)
            && double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    /// <summary>'_' is allowed only between two digits, as in 1_000_000.</summary>
    private static bool TryRemoveUnderscores(ReadOnlySpan<char> text, out string digits)
    {
        digits = "";
        if (text.IsEmpty)
        {
            return false;
        }

        if (text.IndexOf('_') < 0)
        {
            digits = text.ToString();
            return true;
        }

        var builder = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '_')
            {
                if (i == 0 || i == text.Length - 1 || !char.IsAsciiDigit(text[i - 1]) || !char.IsAsciiDigit(text[i + 1]))
                {
                    return false;
                }

                continue;
            }

            builder.Append(text[i]);
        }

        digits = builder.ToString();
        return true;
    }
}

/// <summary>"Did you mean" for unknown keys: the same key in another case style, else the nearest known key by edit distance.</summary>
internal static class KeySuggester
{
    public static string? Suggest(string unknown, IReadOnlyList<string> known)
    {
        var snake = ToSnakeCase(unknown);
        foreach (var candidate in known)
        {
            if (candidate == snake)
            {
                return candidate;
            }
        }

        // Allow more typos in longer keys, but never so many that any short key "matches".
        var limit = unknown.Length <= 3 ? 1 : unknown.Length <= 8 ? 2 : 3;
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(snake, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= limit ? best : null;
    }

    /// <summary>tokenBudget, Token-Budget and TOKEN_BUDGET all become token_budget.</summary>
    internal static string ToSnakeCase(string key)
    {
        var builder = new System.Text.StringBuilder(key.Length + 4);
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is '-' or ' ')
            {
                builder.Append('_');
            }
            else if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(key[i - 1]) || char.IsDigit(key[i - 1])))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var value = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, d[i - 2, j - 2] + 1);
                }

                d[i, j] = value;
            }
        }

        return d[a.Length, b.Length];
    }
}
