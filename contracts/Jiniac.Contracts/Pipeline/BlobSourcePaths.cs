namespace Jiniac.Contracts.Pipeline;

/// <summary>
/// A source path that names blobs in the platform's blob store instead of files: <c>blob://KEY</c> (one blob),
/// <c>blob://PREFIX/</c> (every blob below the prefix, like a folder) or <c>blob://PREFIX/GLOB</c> with the
/// wildcards of <see cref="SourcePaths"/> (<c>*</c>, <c>?</c>, a whole <c>**</c> segment). Shared by the loader
/// (which checks the syntax; it has no store to list) and the ingest service (which lists and reads).
/// </summary>
public static class BlobSourcePaths
{
    public const string Scheme = "blob://";

    public static bool IsBlob(string path) => path.StartsWith(Scheme, StringComparison.Ordinal);

    /// <summary>Null when <paramref name="path"/> is a well-formed blob source path, else what is wrong with it.</summary>
    public static string? Problem(string path)
    {
        var rest = path[Scheme.Length..];
        if (rest.Length == 0)
        {
            return $"'{path}' names no blob: give a key, a prefix ending in '/' or a glob after {Scheme}";
        }

        if (rest[0] == '/')
        {
            return $"'{path}': a blob key is relative, write {Scheme}{rest.TrimStart('/')}";
        }

        var segments = rest.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0 && i == segments.Length - 1)
            {
                continue; // the trailing '/' of a prefix
            }

            if (segment.Length == 0)
            {
                return $"'{path}' has an empty segment ('//')";
            }

            if (segment == "**")
            {
                continue;
            }

            if (segment.Contains("**", StringComparison.Ordinal))
            {
                return $"'{path}': '**' must be a whole segment ('a/**/b.jsonl'), not part of '{segment}'";
            }

            // Wildcards aside, a segment follows the blob-key rule (letters, digits, '-', '_', '.'; not '.' or '..').
            var literal = segment.Replace("*", "x", StringComparison.Ordinal).Replace('?', 'x');
            if (!SafeNames.IsValid(literal) || segment is "." or "..")
            {
                return $"'{path}': segment '{segment}' is not a valid blob-key segment (letters, digits, '-', '_', '.', and the wildcards * ?)";
            }
        }

        return null;
    }

    /// <summary>
    /// The prefix to list and the pattern its listing is matched against (relative to the prefix; null: every
    /// blob below it). A path without wildcards and without a trailing '/' is a key (or a "folder" of keys).
    /// </summary>
    public static (string ListPrefix, string? Pattern) Split(string path)
    {
        var rest = path[Scheme.Length..];
        var segments = rest.Split('/');
        var firstWild = 0;
        while (firstWild < segments.Length && !SourcePaths.IsGlob(segments[firstWild]))
        {
            firstWild++;
        }

        if (firstWild == segments.Length)
        {
            return (rest, null);
        }

        var prefix = firstWild == 0 ? "" : string.Join('/', segments, 0, firstWild) + "/";
        return (prefix, string.Join('/', segments, firstWild, segments.Length - firstWild));
    }

    /// <summary>Whether a blob name relative to the listed prefix matches <paramref name="pattern"/> (segment by segment, as file globs do).</summary>
    public static bool Matches(string pattern, string relativeName) =>
        Match(pattern.Split('/'), 0, relativeName.Split('/'), 0);

    private static bool Match(string[] pattern, int p, string[] name, int n)
    {
        while (p < pattern.Length)
        {
            if (pattern[p] == "**")
            {
                if (p == pattern.Length - 1)
                {
                    // A trailing "**": every blob below, hidden names aside.
                    for (var i = n; i < name.Length; i++)
                    {
                        if (name[i].StartsWith('.'))
                        {
                            return false;
                        }
                    }

                    return n < name.Length;
                }

                // "**" takes zero or more non-hidden folders.
                for (var skip = n; skip < name.Length; skip++)
                {
                    if (Match(pattern, p + 1, name, skip))
                    {
                        return true;
                    }

                    if (name[skip].StartsWith('.'))
                    {
                        return false;
                    }
                }

                return false;
            }

            if (n >= name.Length || !SourcePaths.SegmentMatches(pattern[p], name[n]))
            {
                return false;
            }

            p++;
            n++;
        }

        return n == name.Length;
    }
}
