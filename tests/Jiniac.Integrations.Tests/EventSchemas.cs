using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// JSON Schema (draft 2020-12) of each contract event, derived from its record by reflection, in the JSON dialect the
/// journal and every sink use (camelCase names, enums as camelCase strings, every property written, null included,
/// non-finite doubles as "NaN"/"Infinity"/"-Infinity"). `required` lists the C# required members.
/// </summary>
internal static class EventSchemas
{
    private static readonly NullabilityInfoContext Nullability = new();

    public static JsonObject For(Type type)
    {
        var defs = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = $"urn:jiniac:event:{type.Name}",
            ["title"] = type.Name,
            ["description"] = $"The body of each {type.Name} event on every Jiniac sink (generated from Jiniac.Contracts.{type.Name} by tests/Jiniac.Integrations.Tests; do not edit).",
        };
        foreach (var (key, value) in ObjectOf(type, defs))
        {
            schema[key] = value?.DeepClone();
        }

        if (defs.Count > 0)
        {
            var obj = new JsonObject();
            foreach (var (name, def) in defs)
            {
                obj[name] = def;
            }

            schema["$defs"] = obj;
        }

        return schema;
    }

    public static string Text(JsonObject schema) => schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    private static JsonObject ObjectOf(Type type, SortedDictionary<string, JsonNode> defs)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(p.Name);
            var nullable = Nullability.Create(p).ReadState == NullabilityState.Nullable;
            properties[name] = Nullable(TypeOf(p.PropertyType, defs), nullable);
            if (p.GetCustomAttribute<RequiredMemberAttribute>() is not null)
            {
                required.Add(name);
            }
        }

        return new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
    }

    private static JsonNode Nullable(JsonNode schema, bool nullable) =>
        nullable ? new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) } : schema;

    private static JsonNode TypeOf(Type t, SortedDictionary<string, JsonNode> defs)
    {
        if (System.Nullable.GetUnderlyingType(t) is { } inner)
        {
            return Nullable(TypeOf(inner, defs), true);
        }

        if (t == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (t == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }

        if (t == typeof(int) || t == typeof(long))
        {
            return new JsonObject { ["type"] = "integer" };
        }

        if (t == typeof(double) || t == typeof(float))
        {
            return new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "number" }, new JsonObject { ["enum"] = new JsonArray("NaN", "Infinity", "-Infinity") }) };
        }

        if (t == typeof(DateTimeOffset) || t == typeof(DateTime))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        }

        if (t == typeof(TimeSpan))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (t.IsEnum)
        {
            return new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. Enum.GetNames(t).Select(n => (JsonNode)JsonNamingPolicy.CamelCase.ConvertName(n))]) };
        }

        if (t.IsGenericType && t.GetGenericArguments() is [var keyType, var valueType] && typeof(IEnumerable).IsAssignableFrom(t) && keyType == typeof(string))
        {
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = TypeOf(valueType, defs) };
        }

        if (t != typeof(string) && t.GetInterfaces().Append(t).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } enumerable)
        {
            return new JsonObject { ["type"] = "array", ["items"] = TypeOf(enumerable.GetGenericArguments()[0], defs) };
        }

        if (t.Namespace?.StartsWith("Jiniac.", StringComparison.Ordinal) == true && t.IsClass)
        {
            if (!defs.ContainsKey(t.Name))
            {
                defs[t.Name] = new JsonObject(); // placeholder against recursion
                defs[t.Name] = ObjectOf(t, defs);
            }

            return new JsonObject { ["$ref"] = $"#/$defs/{t.Name}" };
        }

        throw new NotSupportedException($"no JSON Schema mapping for {t} (add one to EventSchemas)");
    }
}

/// <summary>
/// A checker for the subset of JSON Schema <see cref="EventSchemas"/> writes (type, properties, required,
/// additionalProperties, items, anyOf, enum, $ref into $defs), so a test can hold real events against the files.
/// </summary>
internal static class SchemaCheck
{
    public static List<string> Problems(JsonNode schema, JsonElement value)
    {
        var problems = new List<string>();
        Check(schema.AsObject(), schema.AsObject(), value, "$", problems);
        return problems;
    }

    private static void Check(JsonObject root, JsonObject s, JsonElement v, string at, List<string> problems)
    {
        if (s["$ref"] is { } reference)
        {
            var name = reference.GetValue<string>().Split('/')[^1];
            Check(root, root["$defs"]![name]!.AsObject(), v, at, problems);
            return;
        }

        if (s["anyOf"] is JsonArray any)
        {
            if (!any.Any(option => { var p = new List<string>(); Check(root, option!.AsObject(), v, at, p); return p.Count == 0; }))
            {
                problems.Add($"{at}: matches none of anyOf");
            }

            return;
        }

        if (s["enum"] is JsonArray values && !values.Any(x => x!.GetValue<string>() == (v.ValueKind == JsonValueKind.String ? v.GetString() : null)))
        {
            problems.Add($"{at}: {v} is not one of {values.ToJsonString()}");
        }

        switch (s["type"]?.GetValue<string>())
        {
            case "null" when v.ValueKind != JsonValueKind.Null:
            case "string" when v.ValueKind != JsonValueKind.String:
            case "boolean" when v.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
            case "number" when v.ValueKind != JsonValueKind.Number:
            case "integer" when v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out _):
            case "array" when v.ValueKind != JsonValueKind.Array:
            case "object" when v.ValueKind != JsonValueKind.Object:
                problems.Add($"{at}: expected {s["type"]}, got {v.ValueKind}");
                return;
            case "array":
                var i = 0;
                foreach (var item in v.EnumerateArray())
                {
                    Check(root, s["items"]!.AsObject(), item, $"{at}[{i++}]", problems);
                }

                return;
            case "object":
                foreach (var name in s["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [])
                {
                    if (!v.TryGetProperty(name, out _))
                    {
                        problems.Add($"{at}: required property '{name}' is missing");
                    }
                }

                foreach (var property in v.EnumerateObject())
                {
                    var sub = s["properties"]?[property.Name] ?? s["additionalProperties"];
                    if (sub is JsonObject o)
                    {
                        Check(root, o, property.Value, $"{at}.{property.Name}", problems);
                    }
                }

                return;
        }
    }
}
