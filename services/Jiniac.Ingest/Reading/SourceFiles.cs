using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Ingest.Reading;

internal enum InputKind
{
    Jsonl,
    JsonlGz,
    Text,
    Html,
    JsonlZst,
    Parquet,
}

/// <param name="Path">Absolute path of the file, or <c>blob://KEY</c> for a blob: what reports and the quarantine name.</param>
/// <param name="RelativeName">Path below the spec entry that found it ('/'-separated): used in document ids, so they do not depend on where the data sits.</param>
/// <param name="BlobKey">The blob's key when the input is a blob in the store (then <paramref name="Path"/> is its blob:// name).</param>
internal sealed record InputFile(string Path, string RelativeName, InputKind Kind, string? BlobKey = null);

/// <summary>Expands a source's paths (files, folders, globs with *, ** and ?) into files in a deterministic order.</summary>
internal static class SourceFiles
{
    private static readonly EnumerationOptions Recursive = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        MatchType = MatchType.Simple,
    };

    /// <summary>
    /// Each entry of <see cref="SourceSpec.Paths"/> must match at least one readable file (a typo in a
    /// pipeline file should fail loudly, not ingest less). Within an entry files come in ordinal order;
    /// entries keep their order; a file found twice is read once.
    /// </summary>
    /// <exception cref="SourceUnreadableException">an entry is not absolute, does not exist or matches nothing.</exception>
    public static async Task<(IReadOnlyList<InputFile> Files, int SkippedFiles)> ResolveAsync(SourceSpec spec, IBlobStore blobs, CancellationToken cancellationToken)
    {
        var skippedFiles = 0;
        if (spec.Paths.Count == 0)
        {
            throw new SourceUnreadableException($"source '{spec.Name}' lists no paths");
        }

        var files = new List<InputFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in spec.Paths)
        {
            if (BlobSourcePaths.IsBlob(entry))
            {
                skippedFiles += await AddBlobsAsync(spec, entry, blobs, files, seen, cancellationToken);
                continue;
            }

            if (!Path.IsPathFullyQualified(entry))
            {
                throw new SourceUnreadableException($"source '{spec.Name}': path '{entry}' is not absolute");
            }

            var found = new List<(string Path, string Relative)>();
            bool explicitFile;
            if (entry.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                explicitFile = false;
                ExpandGlob(entry, found);
            }
            else if (Directory.Exists(entry))
            {
                explicitFile = false;
                foreach (var file in Directory.EnumerateFiles(entry, "*", Recursive))
                {
                    found.Add((file, Relative(entry, file)));
                }
            }
            else if (File.Exists(entry))
            {
                explicitFile = true;
                found.Add((entry, Path.GetFileName(entry)));
            }
            else
            {
                throw new SourceUnreadableException($"source '{spec.Name}': '{entry}' does not exist");
            }

            found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
            var matched = 0;
            foreach (var (path, relative) in found)
            {
                var kind = KindOf(path, spec.Format, explicitFile || entry.AsSpan().IndexOfAny('*', '?') >= 0);
                if (kind is null)
                {
                    if (explicitFile)
                    {
                        throw new SourceUnreadableException(
                            $"source '{spec.Name}': cannot tell the format of '{path}' from its extension; set the source's format");
                    }

                    skippedFiles++;
                    continue;
                }

                matched++;
                if (seen.Add(path))
                {
                    files.Add(new InputFile(path, relative, kind.Value));
                }
            }

            if (matched == 0)
            {
                throw new SourceUnreadableException($"source '{spec.Name}': '{entry}' matches no {Describe(spec.Format)} files");
            }
        }

        return (files, skippedFiles);
    }

    /// <summary>
    /// A blob:// entry: one key, every blob below a prefix, or the blobs below a glob's literal prefix that match
    /// it, in ordinal key order, by the same format rules as files. Returns how many listed blobs were skipped.
    /// </summary>
    private static async Task<int> AddBlobsAsync(SourceSpec spec, string entry, IBlobStore blobs, List<InputFile> files, HashSet<string> seen,
        CancellationToken cancellationToken)
    {
        if (BlobSourcePaths.Problem(entry) is { } problem)
        {
            throw new SourceUnreadableException($"source '{spec.Name}': {problem}");
        }

        var (prefix, pattern) = BlobSourcePaths.Split(entry);
        var found = new List<(string Key, string Relative)>();
        var explicitBlob = false;
        try
        {
            if (pattern is null && !prefix.EndsWith('/') && await blobs.ExistsAsync(prefix, cancellationToken))
            {
                explicitBlob = true;
                found.Add((prefix, prefix[(prefix.LastIndexOf('/') + 1)..]));
            }
            else
            {
                var listed = pattern is null && !prefix.EndsWith('/') ? prefix + "/" : prefix;
                await foreach (var key in blobs.ListAsync(listed, cancellationToken))
                {
                    var relative = key[listed.Length..];
                    if (pattern is null ? !HiddenBelow(relative) : BlobSourcePaths.Matches(pattern, relative))
                    {
                        found.Add((key, relative));
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            throw new SourceUnreadableException($"source '{spec.Name}': cannot list '{entry}' in the blob store: {e.Message}");
        }

        if (found.Count == 0)
        {
            throw new SourceUnreadableException($"source '{spec.Name}': '{entry}' matches no blob in the blob store");
        }

        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var matched = 0;
        var skipped = 0;
        foreach (var (key, relative) in found)
        {
            var kind = KindOf(key, spec.Format, explicitBlob || pattern is not null);
            if (kind is null)
            {
                if (explicitBlob)
                {
                    throw new SourceUnreadableException(
                        $"source '{spec.Name}': cannot tell the format of '{entry}' from its extension; set the source's format");
                }

                skipped++;
                continue;
            }

            matched++;
            var name = BlobSourcePaths.Scheme + key;
            if (seen.Add(name))
            {
                files.Add(new InputFile(name, relative, kind.Value, key));
            }
        }

        if (matched == 0)
        {
            throw new SourceUnreadableException($"source '{spec.Name}': '{entry}' matches no {Describe(spec.Format)} blobs");
        }

        return skipped;
    }

    // A folder walk skips hidden files; a prefix listing skips names with a hidden segment the same way.
    private static bool HiddenBelow(string relative)
    {
        foreach (var segment in relative.Split('/'))
        {
            if (segment.StartsWith('.'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The reader for a file; null when it is not part of the source. An explicit format is trusted for files named explicitly or by a glob.</summary>
    internal static InputKind? KindOf(string path, SourceFormat format, bool named)
    {
        var name = path.ToLowerInvariant();
        InputKind? byExtension =
            name.EndsWith(".jsonl.gz", StringComparison.Ordinal) || name.EndsWith(".ndjson.gz", StringComparison.Ordinal) ? InputKind.JsonlGz
            : name.EndsWith(".jsonl.zst", StringComparison.Ordinal) || name.EndsWith(".ndjson.zst", StringComparison.Ordinal) ? InputKind.JsonlZst
            : name.EndsWith(".parquet", StringComparison.Ordinal) ? InputKind.Parquet
            : name.EndsWith(".jsonl", StringComparison.Ordinal) || name.EndsWith(".ndjson", StringComparison.Ordinal) ? InputKind.Jsonl
            : name.EndsWith(".html", StringComparison.Ordinal) || name.EndsWith(".htm", StringComparison.Ordinal) || name.EndsWith(".xhtml", StringComparison.Ordinal) ? InputKind.Html
            : name.EndsWith(".txt", StringComparison.Ordinal) || name.EndsWith(".md", StringComparison.Ordinal) || name.EndsWith(".markdown", StringComparison.Ordinal) ? InputKind.Text
            : null;

        return format switch
        {
            SourceFormat.Auto => byExtension,
            SourceFormat.Jsonl => byExtension == InputKind.Jsonl || named ? InputKind.Jsonl : null,
            SourceFormat.JsonlGz => byExtension == InputKind.JsonlGz || named ? InputKind.JsonlGz : null,
            SourceFormat.JsonlZst => byExtension == InputKind.JsonlZst || named ? InputKind.JsonlZst : null,
            SourceFormat.Parquet => byExtension == InputKind.Parquet || named ? InputKind.Parquet : null,
            SourceFormat.Tree => byExtension is InputKind.Html or InputKind.Text ? byExtension : named ? InputKind.Text : null,
            _ => null,
        };
    }

    private static string Describe(SourceFormat format) => format switch
    {
        SourceFormat.Jsonl => ".jsonl",
        SourceFormat.JsonlGz => ".jsonl.gz",
        SourceFormat.Tree => ".txt/.md/.html",
        SourceFormat.JsonlZst => ".jsonl.zst",
        SourceFormat.Parquet => ".parquet",
        _ => ".jsonl/.jsonl.gz/.jsonl.zst/.parquet/.txt/.md/.html",
    };

    // The loader's glob rules (SourcePaths), so a glob it accepted matches the same files here; names are
    // relative to the folder before the first segment with a wildcard.
    private static void ExpandGlob(string pattern, List<(string Path, string Relative)> found)
    {
        var segments = pattern.Replace('\\', '/').Split('/');
        var firstWild = 0;
        while (firstWild < segments.Length && !SourcePaths.IsGlob(segments[firstWild]))
        {
            firstWild++;
        }

        var root = string.Join('/', segments, 0, firstWild);
        if (root.Length == 0)
        {
            root = "/";
        }

        foreach (var file in SourcePaths.ExpandGlob(pattern))
        {
            found.Add((file, Relative(root, file)));
        }
    }

    private static string Relative(string root, string file) =>
        Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
}
