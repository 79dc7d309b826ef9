using System.Globalization;
using Jiniac.Modeling;

namespace Jiniac.Trainer;

/// <summary>trainer_state.json of a checkpoint.</summary>
public sealed record TrainerState
{
    public required long Step { get; init; }
    public required long Tokens { get; init; }
    public required float Loss { get; init; }
    public required long TotalSteps { get; init; }
    public required long Seed { get; init; }
    public required string JobHash { get; init; }
}

/// <summary>DONE.json.</summary>
public sealed record DoneMarker
{
    public required long Step { get; init; }
    public required long Tokens { get; init; }
    public required float Loss { get; init; }
    public required string Checkpoint { get; init; }
}

/// <summary>
/// Checkpoint folders of the contract: checkpoints/step_NNNNNNN, assembled in .step_NNNNNNN.tmp,
/// every file flushed, COMPLETE written last, then the folder renamed into place.
/// </summary>
public static class Checkpoints
{
    public const string CompleteMarker = "COMPLETE";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";

    public static string FolderName(long step) => "step_" + step.ToString("D7", CultureInfo.InvariantCulture);

    public static string Save(string outputDir, LlamaForCausalLM model, AdamW optimizer, TrainerState state)
    {
        var root = Path.Combine(outputDir, "checkpoints");
        var name = FolderName(state.Step);
        var temp = Path.Combine(root, "." + name + ".tmp");
        var final = Path.Combine(root, name);
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        Directory.CreateDirectory(temp);
        model.Save(temp);
        optimizer.Save(Path.Combine(temp, OptimizerFile));
        JobJson.WriteAtomically(Path.Combine(temp, StateFile), state);
        using (var marker = new FileStream(Path.Combine(temp, CompleteMarker), FileMode.Create, FileAccess.Write))
        {
            marker.Flush(flushToDisk: true);
        }

        // A folder of this name can only be a leftover of an earlier attempt at the same job: the same
        // step yields the same weights, so replacing it is safe.
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(temp, final);
        return final;
    }

    public static bool IsComplete(string folder) => File.Exists(Path.Combine(folder, CompleteMarker));

    public static TrainerState ReadState(string folder)
    {
        if (!IsComplete(folder))
        {
            throw new InvalidDataException($"{folder}: not a complete checkpoint (no {CompleteMarker})");
        }

        return JobJson.Load<TrainerState>(Path.Combine(folder, StateFile));
    }
}
