using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Jiniac.Formats.Megatron;
using Jiniac.Text.Bpe;

namespace Jiniac.Tokenize.Tests;

public sealed class FileTokenizerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jiniac-filetok-" + Guid.NewGuid().ToString("N"));

    public FileTokenizerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Folder_of_jsonl_and_gz_becomes_one_dataset_in_order()
    {
        var docs = TestFiles.Documents();
        var input = Path.Combine(_dir, "in");
        Directory.CreateDirectory(Path.Combine(input, "sub"));
        // Ordinal path order: a.jsonl, b.jsonl.gz, sub/c.json — with the documents split across them in that order.
        var thirds = new[] { docs[..20], docs[20..40], docs[40..] };
        await File.WriteAllTextAsync(Path.Combine(input, "a.jsonl"), Lines(thirds[0], "content"));
        await using (var gz = new GZipStream(File.Create(Path.Combine(input, "b.jsonl.gz")), CompressionLevel.Fastest))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes(Lines(thirds[1], "content")));
        }

        await File.WriteAllTextAsync(Path.Combine(input, "sub", "c.json"), Lines(thirds[2], "content") + "\n");
        await File.WriteAllTextAsync(Path.Combine(input, "ignored.txt"), "not json");

        var progress = new List<FileTokenizeProgress>();
        var result = await new FileTokenizer().RunAsync(new FileTokenizeRequest
        {
            TokenizerPath = TestFiles.Path("trained-1000.json"),
            Inputs = [input],
            OutputPrefix = Path.Combine(_dir, "out", "corpus"),
            Workers = 4,
            JsonKey = "content",
            AppendEod = true,
            BatchBytes = 4096,
        }, new SyncProgress(progress), CancellationToken.None);

        Assert.Equal(Path.Combine(_dir, "out", "corpus_content_document"), result.Prefix);
        Assert.Equal(3, result.Files);
        Assert.Equal(docs.Count, result.Documents);
        Assert.NotEmpty(progress);
        var tokenizer = BpeTokenizer.FromFile(TestFiles.Path("trained-1000.json"));
        long tokens = 0;
        using var dataset = IndexedDataset.Open(result.Prefix);
        Assert.Equal(docs.Count, dataset.DocumentCount);
        for (var i = 0; i < docs.Count; i++)
        {
            int[] expected = [.. tokenizer.Encode(docs[i]), 0];
            Assert.Equal(expected, dataset.GetSequence(i));
            tokens += expected.Length;
        }

        Assert.Equal(tokens, result.Tokens);
        Assert.Equal(tokens, dataset.TotalTokens);
    }

    [Theory]
    [InlineData("sp-unigram.model", 2)] // SentencePiece: </s>
    [InlineData("cl100k_base.tiktoken", 100257)] // tiktoken cl100k (its first 4,000 ranks): <|endoftext|>
    public async Task SentencePiece_and_tiktoken_files_tokenize_too(string file, int eod)
    {
        var docs = TestFiles.Documents();
        var input = Path.Combine(_dir, "docs.jsonl");
        await File.WriteAllTextAsync(input, Lines(docs, "text"));
        var path = TestFiles.Path(file);
        var result = await new FileTokenizer().RunAsync(new FileTokenizeRequest
        {
            TokenizerPath = path,
            Inputs = [input],
            OutputPrefix = Path.Combine(_dir, "sp"),
            AppendEod = true,
        }, null, CancellationToken.None);
        var tokenizer = Jiniac.Text.TokenizerFiles.Load(path);
        Assert.Equal(eod, tokenizer.EndOfDocumentId);
        // 2,000 pieces fit uint16; the tiktoken file's special ids (up to 100,276) do not.
        Assert.Equal(tokenizer.VocabSize < 65_500 ? IndexedDatasetDType.UInt16 : IndexedDatasetDType.Int32, result.DType);
        using var dataset = IndexedDataset.Open(result.Prefix);
        Assert.Equal(docs.Count, dataset.DocumentCount);
        for (var i = 0; i < docs.Count; i++)
        {
            var ids = new List<int>();
            tokenizer.Encode(docs[i], ids);
            Assert.Equal([.. ids, eod], dataset.GetSequence(i));
        }
    }

    [Fact]
    public async Task Special_tokens_are_added_around_each_document_when_asked()
    {
        // unigram-2000.json's TemplateProcessing puts <s> (id 1) first; </s> (id 2) is the end-of-document token.
        var docs = TestFiles.Documents();
        var input = Path.Combine(_dir, "docs.jsonl");
        await File.WriteAllTextAsync(input, Lines(docs, "text"));
        var path = TestFiles.Path("unigram-2000.json");
        var result = await new FileTokenizer().RunAsync(new FileTokenizeRequest
        {
            TokenizerPath = path,
            Inputs = [input],
            OutputPrefix = Path.Combine(_dir, "bos"),
            AppendEod = true,
            AddSpecialTokens = true,
        }, null, CancellationToken.None);
        var tokenizer = BpeTokenizer.FromFile(path);
        using var dataset = IndexedDataset.Open(result.Prefix);
        for (var i = 0; i < docs.Count; i++)
        {
            int[] expected = [.. tokenizer.Encode(docs[i], addSpecialTokens: true), 2];
            Assert.Equal(1, expected[0]);
            Assert.Equal(expected, dataset.GetSequence(i));
        }
    }

    [Fact]
    public async Task Without_append_eod_and_with_a_bad_line()
    {
        var file = Path.Combine(_dir, "x.jsonl");
        await File.WriteAllTextAsync(file, "{\"text\":\"Call me Ishmael.\"}\n{\"text\":\"\"}\n");
        var result = await new FileTokenizer().RunAsync(new FileTokenizeRequest
        {
            TokenizerPath = TestFiles.Path("trained-1000.json"),
            Inputs = [file],
            OutputPrefix = Path.Combine(_dir, "plain"),
        }, null, CancellationToken.None);
        var tokenizer = BpeTokenizer.FromFile(TestFiles.Path("trained-1000.json"));
        using (var dataset = IndexedDataset.Open(result.Prefix))
        {
            Assert.Equal(tokenizer.Encode("Call me Ishmael."), dataset.GetSequence(0));
        }

        Assert.Equal(1, result.Documents);
        Assert.Equal(1, result.EmptyDocuments);

        await File.WriteAllTextAsync(file, "{\"text\":\"ok\"}\n{\"txt\":\"no text field\"}\n");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new FileTokenizer().RunAsync(new FileTokenizeRequest
        {
            TokenizerPath = TestFiles.Path("trained-1000.json"),
            Inputs = [file],
            OutputPrefix = Path.Combine(_dir, "bad"),
        }, null, CancellationToken.None));
        Assert.Contains("line 2", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "bad_text_document.idx")));
    }

    private static string Lines(IEnumerable<string> texts, string key)
    {
        var sb = new StringBuilder();
        foreach (var t in texts)
        {
            sb.Append(JsonSerializer.Serialize(new Dictionary<string, string> { ["id"] = "x", [key] = t })).Append('\n');
        }

        return sb.ToString();
    }

    private sealed class SyncProgress(List<FileTokenizeProgress> list) : IProgress<FileTokenizeProgress>
    {
        public void Report(FileTokenizeProgress value)
        {
            lock (list)
            {
                list.Add(value);
            }
        }
    }
}
