using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jiniac.TrainLauncher;

/// <summary>A complete checkpoint of a job, as its trainer_state.json describes it.</summary>
internal sealed record CheckpointInfo(string Folder, long Step, long Tokens, double Loss, string? JobHash);

internal sealed record TrainerState
{
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("total_steps")] public long TotalSteps { get; init; }
    [JsonPropertyName("job_hash")] public string? JobHash { get; init; }
}

internal sealed record DoneFile
{
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("checkpoint")] public string? Checkpoint { get; init; }
}

internal sealed record MetricsLine
{
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    // A diverged step is logged with null values; such a line is still a step (and a spike).
    [JsonPropertyName("loss")] public double? Loss { get; init; }
    [JsonPropertyName("lr")] public double Lr { get; init; }
    [JsonPropertyName("grad_norm")] public double? GradNorm { get; init; }
    [JsonPropertyName("tokens_per_second")] public double TokensPerSecond { get; init; }
}

internal static class Checkpoints
{
    public const string Folder = "checkpoints";
    public const string CompleteMarker = "COMPLETE";
    public const string StateFile = "trainer_state.json";
    public const string DoneFile = "DONE.json";

    /// <summary>
    /// The complete checkpoints (COMPLETE present, trainer_state.json readable) of the job with
    /// <paramref name="jobHash"/>, by step. Anything else in checkpoints/ — temp folders, folders
    /// without COMPLETE, checkpoints of another job — does not exist as far as the launcher is concerned.
    /// </summary>
    public static List<CheckpointInfo> Complete(string outputDir, string jobHash)
    {
        var result = new List<CheckpointInfo>();
        var root = Path.Combine(outputDir, Folder);
        if (!Directory.Exists(root))
        {
            return result;
        }

        foreach (var folder in Directory.EnumerateDirectories(root, "step_*"))
        {
            if (!long.TryParse(Path.GetFileName(folder).AsSpan("step_".Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            if (TryRead(folder) is { } info && string.Equals(info.JobHash, jobHash, StringComparison.Ordinal))
            {
                result.Add(info);
            }
        }

        result.Sort(static (a, b) => a.Step.CompareTo(b.Step));
        return result;
    }

    public static CheckpointInfo? TryRead(string folder)
    {
        if (!File.Exists(Path.Combine(folder, CompleteMarker)))
        {
            return null;
        }

        var state = TryReadJson<TrainerState>(Path.Combine(folder, StateFile));
        return state is null ? null : new CheckpointInfo(Path.GetFullPath(folder), state.Step, state.Tokens, state.Loss, state.JobHash);
    }

    /// <summary>DONE.json and the final checkpoint it names, when both exist and belong to <paramref name="jobHash"/>.</summary>
    public static (DoneFile Done, CheckpointInfo Checkpoint)? TryReadDone(string outputDir, string jobHash)
    {
        var done = TryReadJson<DoneFile>(Path.Combine(outputDir, DoneFile));
        if (done?.Checkpoint is not { Length: > 0 } named)
        {
            return null;
        }

        var checkpoint = TryRead(Path.GetFullPath(named, outputDir));
        return checkpoint is not null && string.Equals(checkpoint.JobHash, jobHash, StringComparison.Ordinal)
            ? (done, checkpoint)
            : null;
    }

    public static T? TryReadJson<T>(string path) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>
/// Follows metrics.jsonl by byte offset. Only whole lines are consumed: a partial last line (the
/// trainer is mid-write) stays for the next read. Unparseable lines are skipped, not fatal.
/// </summary>
internal sealed class MetricsFollower(string path) : Backends.IMetricsSource
{
    private long _offset;

    public long Offset => _offset;

    /// <summary>Starts after what is already there (lines of an earlier start of this job were reported then).</summary>
    public void SkipExisting()
    {
        var info = new FileInfo(path);
        _offset = info.Exists ? LastLineEnd(info.Length) : 0;
    }

    public List<MetricsLine> ReadNew()
    {
        var lines = new List<MetricsLine>();
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return lines;
        }

        using (file)
        {
            var length = file.Length;
            if (length < _offset)
            {
                // Truncated or replaced: start again from the top.
                _offset = 0;
            }

            if (length == _offset)
            {
                return lines;
            }

            var count = (int)Math.Min(length - _offset, 16 << 20);
            var buffer = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                file.Position = _offset;
                file.ReadExactly(buffer, 0, count);
                var span = buffer.AsSpan(0, count);
                var consumed = 0;
                while (true)
                {
                    var newline = span[consumed..].IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    var line = span.Slice(consumed, newline).TrimEnd((byte)'\r');
                    consumed += newline + 1;
                    if (line.IsEmpty)
                    {
                        continue;
                    }

                    try
                    {
                        if (JsonSerializer.Deserialize<MetricsLine>(line) is { } parsed)
                        {
                            lines.Add(parsed);
                        }
                    }
                    catch (JsonException)
                    {
                        // A malformed line (e.g. a NaN literal) loses one sample, never the run.
                    }
                }

                _offset += consumed;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return lines;
    }

    private long LastLineEnd(long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[4096];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            var count = (int)(end - start);
            file.Position = start;
            file.ReadExactly(buffer, 0, count);
            var newline = buffer.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                return start + newline + 1;
            }

            end = start;
        }

        return 0;
    }
}
