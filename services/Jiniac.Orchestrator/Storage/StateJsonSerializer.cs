using System.Text.Json;
using Orleans.Storage;

namespace Jiniac.Orchestrator.Storage;

/// <summary>
/// Grain state in Redis in the dialect the file storage writes (<see cref="OrchestratorJson"/>): plain
/// System.Text.Json of the state type, with no CLR type names inside, so renaming a type or assembly never
/// strands stored state, and the value reads the same whichever store it sits in.
/// </summary>
public sealed class StateJsonSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, OrchestratorJson.Options));

    public T Deserialize<T>(BinaryData input) =>
        input.ToObjectFromJson<T>(OrchestratorJson.Options) ?? throw new InvalidDataException($"grain state of {typeof(T).Name}: null in the store");
}
