using System.Text.Json;
using Jiniac.Ingest.Output;

namespace Jiniac.Ingest.Reading;

/// <summary>Pulls the text field out of one jsonl line with a forward-only reader (no DOM): other fields are skipped unread.</summary>
internal static class JsonlRecord
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 256 };

    /// <returns>null when the text was found; otherwise the quarantine reason (and <paramref name="detail"/>).</returns>
    public static string? TryGetText(ReadOnlySpan<byte> line, ReadOnlySpan<byte> field, out string text, out string? detail)
    {
        text = "";
        detail = null;
        var reader = new Utf8JsonReader(line, ReaderOptions);
        try
        {
            if (!reader.Read())
            {
                detail = "no JSON value";
                return QuarantineReasons.InvalidJson;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Still check the whole line parses, so broken JSON is reported as such.
                reader.Skip();
                while (reader.Read())
                {
                }

                detail = $"a JSON {reader.TokenType switch { JsonTokenType.StartArray or JsonTokenType.EndArray => "array", JsonTokenType.String => "string", JsonTokenType.Number => "number", JsonTokenType.True or JsonTokenType.False => "boolean", _ => "null" }}, not an object";
                return QuarantineReasons.NotAnObject;
            }

            string? found = null;
            JsonTokenType? foundType = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = foundType is null && reader.ValueTextEquals(field);
                reader.Read();
                if (match)
                {
                    foundType = reader.TokenType;
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        found = reader.GetString();
                        continue;
                    }
                }

                reader.Skip();
            }

            // Anything after the object other than whitespace throws here.
            while (reader.Read())
            {
            }

            if (foundType is null)
            {
                detail = $"no field '{System.Text.Encoding.UTF8.GetString(field)}'";
                return QuarantineReasons.MissingField;
            }

            if (found is null)
            {
                detail = $"field '{System.Text.Encoding.UTF8.GetString(field)}' is {foundType}, not a string";
                return QuarantineReasons.FieldNotString;
            }

            text = found;
            return null;
        }
        catch (JsonException e)
        {
            detail = e.Message;
            return QuarantineReasons.InvalidJson;
        }
        catch (InvalidOperationException e)
        {
            // e.g. an escaped lone surrogate ("\ud800") cannot become a .NET string
            detail = e.Message;
            return QuarantineReasons.InvalidJson;
        }
    }
}
