using System.Globalization;
using System.Text.RegularExpressions;
using Jiniac.Hosting.Blobs;

namespace Jiniac.TrainLauncher;

/// <summary>
/// training.retention.archive: uploads a complete checkpoint's files under
/// <c>checkpoints/{run}/{stage}/step_NNNNNNN/{file}</c>, files in parallel (bounded), and writes the
/// <see cref="Marker"/> blob last: a checkpoint is archived exactly when its marker exists and names this folder's
/// <see cref="Fingerprint"/>. Blob stores put a blob whole or not at all, so a rerun after an interruption skips every
/// file whose blob already has the local size — but only while no marker of another version of the step is there: a
/// loss-spike rollback retrains a step, and its new files may have the old sizes, so then every file goes up again.
/// </summary>
internal static partial class CheckpointArchiver
{
    public const string Marker = "ARCHIVED";

    public sealed record Result(string Prefix, int Files, long Bytes, int Skipped);

    public static string PrefixOf(string runId, string stage, long step)
    {
        foreach (var (what, value) in new[] { ("run id", runId), ("stage", stage) })
        {
            if (!SafeSegment().IsMatch(value) || value is "." or "..")
            {
                throw new ArgumentException($"{what} '{value}' cannot be part of a blob key");
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        return $"checkpoints/{runId}/{stage}/step_{step.ToString("D7", CultureInfo.InvariantCulture)}";
    }

    /// <summary>Whether the archive of <paramref name="folder"/> (this version of the step) is finished.</summary>
    public static async Task<bool> IsArchivedAsync(IBlobStore blobs, string runId, string stage, long step, string folder, CancellationToken cancellationToken)
    {
        var archived = await ArchivedFingerprintAsync(blobs, PrefixOf(runId, stage, step), cancellationToken);
        return archived is not null && Directory.Exists(folder) && archived == Fingerprint(Path.GetFullPath(folder), FilesOf(folder));
    }

    /// <summary>
    /// Tells one version of a checkpoint from another without hashing gigabytes: every file's name and length, and the
    /// bytes of the small ones (trainer_state.json with its loss, config and tracker files), which a retrained step changes.
    /// </summary>
    public static string Fingerprint(string root, IReadOnlyList<string> files)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            var local = Path.Combine(root, file);
            var length = new FileInfo(local).Length;
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{file}\n{length.ToString(CultureInfo.InvariantCulture)}\n"));
            if (length <= SmallFileBytes)
            {
                hash.AppendData(File.ReadAllBytes(local));
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private const long SmallFileBytes = 1 << 20;
    private const string FingerprintLine = "fingerprint: ";

    private static async Task<string?> ArchivedFingerprintAsync(IBlobStore blobs, string prefix, CancellationToken cancellationToken)
    {
        if (!await blobs.ExistsAsync(prefix + "/" + Marker, cancellationToken))
        {
            return null;
        }

        await using var stream = await blobs.OpenReadAsync(prefix + "/" + Marker, cancellationToken);
        using var reader = new StreamReader(stream);
        var first = await reader.ReadLineAsync(cancellationToken);
        // A marker without a fingerprint cannot vouch for any version: treat it as another one.
        return first is not null && first.StartsWith(FingerprintLine, StringComparison.Ordinal) ? first[FingerprintLine.Length..] : "";
    }

    private static List<string> FilesOf(string folder)
    {
        var root = Path.GetFullPath(folder);
        return Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public static async Task<Result> ArchiveAsync(IBlobStore blobs, string runId, string stage, long step, string folder, int parallelism,
        CancellationToken cancellationToken)
    {
        var prefix = PrefixOf(runId, stage, step);
        // The trainer adapter has judged the folder complete (a COMPLETE file, or Megatron's tracker); only that is archived.
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"checkpoint folder {folder} does not exist");
        }

        var root = Path.GetFullPath(folder);
        var files = FilesOf(root);
        foreach (var file in files)
        {
            // Names come from the trainer's folder: nothing may climb out of the prefix or hide as a dot-segment.
            if (file.Split('/').Any(s => !SafeSegment().IsMatch(s) || s is "." or ".."))
            {
                throw new InvalidOperationException($"checkpoint file '{file}' in {folder} cannot be archived under a blob key");
            }
        }

        var fingerprint = Fingerprint(root, files);
        // Same-size blobs may be skipped only when they can belong to this version: no marker yet (an interrupted first
        // archive) or a marker naming this very fingerprint. Another version's marker stays until the new one replaces it.
        var archived = await ArchivedFingerprintAsync(blobs, prefix, cancellationToken);
        var skipBySize = archived is null || archived == fingerprint;
        long bytes = 0;
        var skipped = 0;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
            async (file, ct) =>
            {
                var local = Path.Combine(root, file);
                var length = new FileInfo(local).Length;
                Interlocked.Add(ref bytes, length);
                if (skipBySize && await blobs.GetLengthAsync(prefix + "/" + file, ct) == length)
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                await blobs.PutFileAsync(prefix + "/" + file, local, move: false, ct);
            });

        using var marker = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(FingerprintLine + fingerprint + "\n" + string.Join('\n', files) + "\n"));
        await blobs.PutAsync(prefix + "/" + Marker, marker, cancellationToken);
        return new Result(prefix, files.Count, bytes, skipped);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeSegment();
}
