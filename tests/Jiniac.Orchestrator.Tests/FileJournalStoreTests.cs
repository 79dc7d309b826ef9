using System.Text;
using Jiniac.Orchestrator.Journal;

namespace Jiniac.Orchestrator.Tests;

public sealed class FileJournalStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jiniac-journal-").FullName;

    private string FileOf(string runId) => Path.Combine(_root, runId + ".jsonl");

    [Fact]
    public async Task Appended_records_load_back_in_order_with_every_field()
    {
        var store = new FileJournalStore(_root);
        var records = Records(0, 5);
        await store.AppendAsync("r1", records[..2], CancellationToken.None);
        await store.AppendAsync("r1", records[2..], CancellationToken.None);

        var loaded = await new FileJournalStore(_root).LoadAsync("r1", CancellationToken.None);
        Assert.Equal(records, loaded);
        Assert.Equal(5, File.ReadAllLines(FileOf("r1")).Length);
        Assert.Empty(await store.LoadAsync("unknown", CancellationToken.None));
    }

    [Fact]
    public async Task A_torn_last_line_is_ignored_and_later_appends_keep_the_sequence_dense()
    {
        var store = new FileJournalStore(_root);
        await store.AppendAsync("r1", Records(0, 3), CancellationToken.None);

        // A crash mid-append leaves half a line, with no newline.
        var line = System.Text.Json.JsonSerializer.Serialize(Records(3, 1)[0], OrchestratorJson.Options);
        await File.AppendAllTextAsync(FileOf("r1"), line[..(line.Length / 2)], Encoding.UTF8);

        var loaded = await store.LoadAsync("r1", CancellationToken.None);
        Assert.Equal(Records(0, 3), loaded);

        // The journal goes on from there (the next sequence is the count loaded), and everything appended survives.
        await store.AppendAsync("r1", Records(3, 2), CancellationToken.None);
        Assert.Equal(Records(0, 5), await store.LoadAsync("r1", CancellationToken.None));
    }

    [Fact]
    public async Task A_run_id_that_is_not_a_safe_name_is_refused()
    {
        var store = new FileJournalStore(_root);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.AppendAsync("../outside", Records(0, 1), CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_root)!, "outside.jsonl"));
    }

    private static JournalRecord[] Records(int from, int count)
    {
        var records = new JournalRecord[count];
        for (var i = 0; i < count; i++)
        {
            var sequence = from + i;
            records[i] = new JournalRecord
            {
                Sequence = sequence,
                Timestamp = new DateTimeOffset(2025, 1, 2, 3, 4, sequence % 60, TimeSpan.Zero),
                Type = sequence % 2 == 0 ? "CheckpointSaved" : "RunStatusChanged",
                Stage = sequence % 2 == 0 ? "en" : null,
                Json = $"{{\"step\":{sequence},\"text\":\"日本語 \\\"quoted\\\"\"}}",
            };
        }

        return records;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
