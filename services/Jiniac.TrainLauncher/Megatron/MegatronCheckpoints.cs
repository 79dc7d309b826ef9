using System.Globalization;

namespace Jiniac.TrainLauncher.Megatron;

/// <summary>One Megatron checkpoint: <c>&lt;save&gt;/iter_NNNNNNN</c> (or <c>release</c>) and the iteration it holds.</summary>
internal sealed record MegatronCheckpoint(string Root, string Folder, long Iteration, bool Release);

/// <summary>
/// Megatron-LM's checkpoint folder (reference/megatron-training-log.md): <c>latest_checkpointed_iteration.txt</c>
/// names the latest checkpoint once every rank has finished saving it. A checkpoint is complete only when the
/// tracker names it; an <c>iter_</c> folder past the tracker's iteration is a save in progress (or a crash during one).
/// </summary>
internal static class MegatronCheckpoints
{
    public const string Tracker = "latest_checkpointed_iteration.txt";
    public const string ReleaseName = "release";
    private const string Prefix = "iter_";

    public static string FolderName(long iteration) => Prefix + iteration.ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>The tracker's content: an iteration, "release", or null when it is missing or unreadable (no checkpoint yet).</summary>
    public static (long Iteration, bool Release)? ReadTracker(string root)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(root, Tracker)).Trim();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (string.Equals(text, ReleaseName, StringComparison.Ordinal))
        {
            return (0, true);
        }

        // Megatron writes the number alone; anything else is a torn or foreign file, i.e. no checkpoint.
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var iteration) && iteration >= 0 ? (iteration, false) : null;
    }

    /// <summary>The checkpoint the tracker names, if its folder holds checkpoint files.</summary>
    public static MegatronCheckpoint? Latest(string root)
    {
        if (ReadTracker(root) is not { } tracker)
        {
            return null;
        }

        var folder = Path.GetFullPath(Path.Combine(root, tracker.Release ? ReleaseName : FolderName(tracker.Iteration)));
        return HasCheckpointFiles(folder) ? new MegatronCheckpoint(Path.GetFullPath(root), folder, tracker.Iteration, tracker.Release) : null;
    }

    /// <summary>
    /// Every complete checkpoint, by iteration: the tracker's, and the <c>iter_</c> folders below it that hold checkpoint
    /// files. Megatron saves in iteration order and moves the tracker only after a save finished, so each of those was
    /// named by the tracker once; a folder above the tracker's iteration never was.
    /// </summary>
    public static List<MegatronCheckpoint> Complete(string root)
    {
        var result = new List<MegatronCheckpoint>();
        if (ReadTracker(root) is not { } tracker || !Directory.Exists(root))
        {
            return result;
        }

        if (tracker.Release)
        {
            if (Latest(root) is { } release)
            {
                result.Add(release);
            }

            return result;
        }

        var full = Path.GetFullPath(root);
        foreach (var folder in Directory.EnumerateDirectories(full, Prefix + "*"))
        {
            if (TryParseIteration(Path.GetFileName(folder)) is { } iteration && iteration <= tracker.Iteration && HasCheckpointFiles(folder))
            {
                result.Add(new MegatronCheckpoint(full, folder, iteration, false));
            }
        }

        result.Sort(static (a, b) => a.Iteration.CompareTo(b.Iteration));
        return result;
    }

    /// <summary>A folder named like <c>…/save/iter_0000100</c> that is one of that save folder's complete checkpoints.</summary>
    public static MegatronCheckpoint? TryOpen(string folder)
    {
        var full = Path.GetFullPath(folder.TrimEnd(Path.DirectorySeparatorChar));
        var root = Path.GetDirectoryName(full);
        if (root is null)
        {
            return null;
        }

        var name = Path.GetFileName(full);
        foreach (var checkpoint in Complete(root))
        {
            if (string.Equals(checkpoint.Folder, full, StringComparison.Ordinal))
            {
                return checkpoint;
            }
        }

        return string.Equals(name, ReleaseName, StringComparison.Ordinal) ? Latest(root) : null;
    }

    public static long? TryParseIteration(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal)
        && name.Length > Prefix.Length
        && long.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var iteration)
            ? iteration
            : null;

    /// <summary>
    /// Legacy format: <c>mp_rank_TT[_PPP][_EEE]/model_optim_rng.pt</c>; torch_dist: <c>metadata.json</c> and <c>.metadata</c>
    /// (the .distcp shards are named by the latter).
    /// </summary>
    public static bool HasCheckpointFiles(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return false;
        }

        if (File.Exists(Path.Combine(folder, "metadata.json")) && File.Exists(Path.Combine(folder, ".metadata")))
        {
            return true;
        }

        foreach (var rank in Directory.EnumerateDirectories(folder, "mp_rank_*"))
        {
            if (File.Exists(Path.Combine(rank, "model_optim_rng.pt")))
            {
                return true;
            }
        }

        return false;
    }
}
