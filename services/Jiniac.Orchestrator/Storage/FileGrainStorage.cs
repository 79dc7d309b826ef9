using System.Text.Json;
using Orleans.Runtime;
using Orleans.Storage;

namespace Jiniac.Orchestrator.Storage;

/// <summary>
/// Embedded grain storage: one JSON file per grain, written to a temp file, fsynced and renamed
/// over the old one, so a crash leaves either the old state or the new one, never a torn file.
/// The ETag is a version counter kept in the file; a stale writer gets InconsistentStateException.
/// </summary>
public sealed class FileGrainStorage(string root) : IGrainStorage
{
    private static readonly JsonSerializerOptions Json = OrchestratorJson.Options;

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        await using var stream = File.OpenRead(path);
        var envelope = await JsonSerializer.DeserializeAsync<Envelope<T>>(stream, Json)
            ?? throw new InvalidDataException($"{path}: empty grain state");
        grainState.State = envelope.State;
        grainState.ETag = envelope.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var current = await CurrentVersionAsync<T>(path);
        var expected = grainState.ETag is null ? 0L : long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture);
        if (current != expected)
        {
            throw new InconsistentStateException($"{path}: version {current} on disk, {expected} in memory", current.ToString(System.Globalization.CultureInfo.InvariantCulture), grainState.ETag ?? "0");
        }

        var next = expected + 1;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp~";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await JsonSerializer.SerializeAsync(stream, new Envelope<T>(next, grainState.State!), Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        grainState.ETag = next.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }

    private static async Task<long> CurrentVersionAsync<T>(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        // The envelope's first property is its version: read just that, not the whole state (a stage's grows with its
        // shards, and this runs before every write).
        var buffer = new byte[256];
        int read;
        await using (var stream = File.OpenRead(path))
        {
            read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false);
        }

        var reader = new Utf8JsonReader(buffer.AsSpan(0, read), isFinalBlock: false, state: default);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.Read()
            && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("version"u8) && reader.Read()
            && reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetInt64();
        }

        // Not the layout this class writes (hand-edited, or an older writer's property order): read it whole.
        await using var whole = File.OpenRead(path);
        using var doc = await JsonDocument.ParseAsync(whole);
        return doc.RootElement.GetProperty("version").GetInt64();
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        // Grain keys hold '/' (run/stage/step): escape so each grain is one file, and no key can leave the root.
        var type = Uri.EscapeDataString(grainId.Type.ToString()!);
        var key = Uri.EscapeDataString(grainId.Key.ToString()!);
        return Path.Combine(root, Uri.EscapeDataString(stateName), type, key + ".json");
    }

    private sealed record Envelope<T>(long Version, T State);
}
