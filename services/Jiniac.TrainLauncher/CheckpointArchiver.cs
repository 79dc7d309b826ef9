using System.Globalization;
using System.Text.RegularExpressions;
using Jiniac.Hosting.Blobs;

namespace Jiniac.TrainLauncher;

/// <summary>
/// training.retention.archive: uploads a complete checkpoint's files under
/// <c>checkpoints/{run}/{stage}/step_NNNNNNN/{file}</c>, files in parallel (bounded), and writes the
/// <see cref="Marker"/> blob last: a checkpoint is archived exactly when its marker exists. Blob stores put a blob
/// whole or not at all, so a rerun after an interruption skips every file whose blob already has the local size.
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

    public static Task<bool> IsArchivedAsync(IBlobStore blobs, string runId, string stage, long step, CancellationToken cancellationToken) =>
        blobs.ExistsAsync(PrefixOf(runId, stage, step) + "/" + Marker, cancellationToken);

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
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var file in files)
        {
            // Names come from the trainer's folder: nothing may climb out of the prefix or hide as a dot-segment.
            if (file.Split('/').Any(s => !SafeSegment().IsMatch(s) || s is "." or ".."))
            {
                throw new InvalidOperationException($"checkpoint file '{file}' in {folder} cannot be archived under a blob key");
            }
        }

        long bytes = 0;
        var skipped = 0;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
            async (file, ct) =>
            {
                var local = Path.Combine(root, file);
                var length = new FileInfo(local).Length;
                Interlocked.Add(ref bytes, length);
                if (await blobs.GetLengthAsync(prefix + "/" + file, ct) == length)
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                await blobs.PutFileAsync(prefix + "/" + file, local, move: false, ct);
            });

        using var marker = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', files) + "\n"));
        await blobs.PutAsync(prefix + "/" + Marker, marker, cancellationToken);
        return new Result(prefix, files.Count, bytes, skipped);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeSegment();
}
