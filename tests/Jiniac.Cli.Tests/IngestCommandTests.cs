using System.Text.Json;

namespace Jiniac.Cli.Tests;

/// <summary>`jiniac ingest`: the pipeline's ingest outside a pipeline, writing shards and the report into a folder.</summary>
[Collection(nameof(IngestCommandTests))] // Console.Out is redirected
public sealed class IngestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-cli-ingest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    private static Task<(int Code, string Out)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Globs_and_a_config_give_shards_and_a_report_in_the_output_folder()
    {
        Write("in/a.jsonl", Line("Call me Ishmael. Some years ago, never mind how long.") + Line("Call me Ishmael. Some years ago, never mind how long.") + "{broken\n");
        Write("in/b.jsonl", Line("Mail taro@example.com about the voyage, said the captain of the ship."));
        var config = Write("source.yaml", "name: books\nmin_chars: 10\npii:\n  kinds: [phone]\ncleaning:\n  languages: [en]\n");
        var output = Path.Combine(_dir, "out");

        var (code, stdout) = await RunAsync("ingest", "--source", Path.Combine(_dir, "in", "*.jsonl"), "--config", config, "--output", output);

        Assert.True(code == 0, stdout);
        using var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "ingest", "report.json")));
        var r = report.RootElement;
        Assert.Equal(("books", 4, 2, 1), (r.GetProperty("source").GetString(), r.GetProperty("recordsIn").GetInt32(), r.GetProperty("recordsOut").GetInt32(), r.GetProperty("duplicates").GetInt32()));
        Assert.Equal("phone", r.GetProperty("rules").GetProperty("pii").GetString()); // the config's rules, not the defaults
        var shard = Assert.Single(Directory.GetFiles(Path.Combine(output, "shards")));
        Assert.Contains("taro@example.com", File.ReadAllText(shard)); // e-mail redaction was not asked for
        Assert.True(File.Exists(Path.Combine(output, "ingest", "quarantine.jsonl")));
        Assert.Contains("2 out", stdout);
    }

    [Fact]
    public async Task A_bad_config_is_refused_with_its_line_and_nothing_is_written()
    {
        Write("in/a.jsonl", Line("text"));
        var config = Write("bad.yaml", "cleaning:\n  max_symbol_ratio: 2\n  languages: [ja, klingon]\n");
        var output = Path.Combine(_dir, "out");

        var (code, message) = await RunAsync("ingest", "--source", Path.Combine(_dir, "in", "a.jsonl"), "--config", config, "--output", output);

        Assert.Equal(2, code);
        Assert.Contains("cleaning.max_symbol_ratio", message);
        Assert.Contains(":3:", message); // the klingon line
        Assert.Contains("klingon", message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task A_blob_prefix_source_is_read_from_the_named_folder_blob_store()
    {
        Write("store/raw/books/a.jsonl", Line("Call me Ishmael. Some years ago, never mind how long precisely."));
        Write("store/raw/books/part/b.jsonl", Line("It is a way I have of driving off the spleen.") + "{broken\n");
        var output = Path.Combine(_dir, "out");

        var (code, stdout) = await RunAsync("ingest", "--source", "blob://raw/books/", "--blob-store", Path.Combine(_dir, "store"), "--output", output);

        Assert.True(code == 0, stdout);
        Assert.Contains("2 out", stdout);
        var entry = JsonDocument.Parse(File.ReadAllLines(Path.Combine(output, "ingest", "quarantine.jsonl")).Single()).RootElement;
        Assert.Equal(("blob://raw/books/part/b.jsonl", 2), (entry.GetProperty("file").GetString(), entry.GetProperty("line").GetInt32()));

        var (missing, message) = await RunAsync("ingest", "--source", "blob://raw/books/", "--output", Path.Combine(_dir, "out2"));
        Assert.Equal(2, missing);
        Assert.Contains("--blob-store", message);
    }
}
