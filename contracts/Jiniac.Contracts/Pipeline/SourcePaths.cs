namespace Jiniac.Contracts.Pipeline;

/// <summary>
/// The glob rules of a source's <c>paths</c>, shared by the loader (which checks that a glob matches)
/// and whoever reads the source, so both agree on what a pattern means.
/// <c>*</c> matches any run of characters within one path segment, <c>?</c> one character, and a
/// segment that is exactly <c>**</c> any number of folders (zero included). As in a shell, a
/// wildcard does not match a name starting with '.' unless the pattern segment starts with '.'.
/// </summary>
public static class SourcePaths
{
    public static bool IsGlob(string path) => path.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>The files an absolute glob matches, sorted ordinally (the order ingest reads them in).</summary>
    public static IReadOnlyList<string> ExpandGlob(string absolutePattern)
    {
        if (!Path.IsPathFullyQualified(absolutePattern))
        {
            throw new ArgumentException($"glob '{absolutePattern}' is not an absolute path", nameof(absolutePattern));
        }

        var segments = absolutePattern.Split(
            [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        var root = Path.GetPathRoot(absolutePattern)!;
        var first = 0;
        if (OperatingSystem.IsWindows() && segments.Length > 0 && root.StartsWith(segments[0], StringComparison.OrdinalIgnoreCase))
        {
            first = 1; // the drive ("C:") is part of the root
        }

        var found = new SortedSet<string>(StringComparer.Ordinal);
        Match(root, segments, first, found);
        return [.. found];
    }

    private static EnumerationOptions Listing() => new()
    {
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
        AttributesToSkip = FileAttributes.None,
    };

    private static void Match(string dir, string[] segments, int index, SortedSet<string> found)
    {
        if (index == segments.Length)
        {
            return;
        }

        var segment = segments[index];
        var last = index == segments.Length - 1;
        if (segment == "**")
        {
            if (last)
            {
                // A trailing "**" means every file below.
                foreach (var file in Directory.EnumerateFiles(dir, "*", Listing()))
                {
                    if (!Path.GetFileName(file).StartsWith('.'))
                    {
                        found.Add(file);
                    }
                }
            }
            else
            {
                Match(dir, segments, index + 1, found);
            }

            foreach (var sub in SubFolders(dir))
            {
                // Symbolic links are not followed through "**", so a link cycle cannot loop forever.
                if (!Path.GetFileName(sub).StartsWith('.') && (File.GetAttributes(sub) & FileAttributes.ReparsePoint) == 0)
                {
                    Match(sub, segments, index, found);
                }
            }

            return;
        }

        if (!IsGlob(segment))
        {
            var next = Path.Combine(dir, segment);
            if (last)
            {
                if (File.Exists(next))
                {
                    found.Add(next);
                }
            }
            else if (Directory.Exists(next))
            {
                Match(next, segments, index + 1, found);
            }

            return;
        }

        if (last)
        {
            foreach (var file in Files(dir))
            {
                if (SegmentMatches(segment, Path.GetFileName(file)))
                {
                    found.Add(file);
                }
            }
        }
        else
        {
            foreach (var sub in SubFolders(dir))
            {
                if (SegmentMatches(segment, Path.GetFileName(sub)))
                {
                    Match(sub, segments, index + 1, found);
                }
            }
        }
    }

    private static IEnumerable<string> Files(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", Listing()) : [];

    private static IEnumerable<string> SubFolders(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateDirectories(dir, "*", Listing()) : [];

    /// <summary>Wildcard match of one path segment: '*' and '?' (ordinal, like the file system here).</summary>
    internal static bool SegmentMatches(string pattern, string name)
    {
        if (name.StartsWith('.') && !pattern.StartsWith('.'))
        {
            return false;
        }

        int p = 0, n = 0, star = -1, resume = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
