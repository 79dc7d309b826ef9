using System.Buffers;
using System.Text;
using System.Text.Json;
using Jiniac.Ingest.Output;

namespace Jiniac.Ingest.Tests;

public sealed class ShardWriterTests
{
    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, ShardWriter.JsonOptions))
        {
            json.WriteStartObject();
            json.WritePropertyName("text"u8);
            write(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Text_written_a_line_at_a_time_is_the_same_bytes_as_one_string_value()
    {
        // Line breaks at the start, the end and in runs; quotes, backslashes, controls, HTML characters, kana, emoji, U+2028.
        string[] pieces = ["\n", "\n\n", "plain words", "\"quoted\"", "back\\slash", "\t", "\u0001", "<a href='x'>&amp;</a>", "日本語のテキスト", "😀", "\u2028", "\r", "\u007F", " "];
        var random = new Random(9);
        for (var trial = 0; trial < 3000; trial++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => pieces[random.Next(pieces.Length)]));
            var utf8 = Encoding.UTF8.GetBytes(text);

            Assert.Equal(Json(j => j.WriteStringValue(utf8)), Json(j => ShardWriter.WriteText(j, utf8)));
        }
    }
}
