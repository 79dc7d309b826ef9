using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jiniac.Orchestrator;

/// <summary>One JSON dialect for grain state on disk, the journal, and grain-call payloads.</summary>
public static class OrchestratorJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = false,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}
