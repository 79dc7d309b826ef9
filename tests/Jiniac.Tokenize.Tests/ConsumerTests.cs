using System.Security.Cryptography;
using System.Text;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.Megatron;
using Jiniac.Text.Bpe;

namespace Jiniac.Tokenize.Tests;

public sealed class ConsumerTests
{
    [Fact]
    public async Task TrainTokenizer_stores_a_content_addressed_tokenizer_deterministically()
    {
        await using var host = await TokenizeHost.StartAsync();
        var (_, blob) = await host.PutShardAsync(TestFiles.Documents());
        var settings = new TokenizerTrainingSpec { VocabSize = 600, MinFrequency = 2, SampleBytes = 30_000, SpecialTokens = ["<|endoftext|>", "<|pad|>"] };

        await host.SendAsync(new TrainTokenizer { RunId = "run-a", SampleBlobs = [blob], Settings = settings });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "run-a");
        await host.SendAsync(new TrainTokenizer { RunId = "run-b", SampleBlobs = [blob], Settings = settings });
        var again = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "run-b");

        Assert.Equal(ready.TokenizerHash, again.TokenizerHash);
        Assert.Equal($"tokenizers/{ready.TokenizerHash}.json", ready.TokenizerBlob);
        var json = await ReadBlobAsync(host, ready.TokenizerBlob);
        Assert.Equal(ready.TokenizerHash, Convert.ToHexStringLower(SHA256.HashData(json)));
        var tokenizer = BpeTokenizer.FromJson(json);
        Assert.Equal(600, ready.VocabSize);
        Assert.Equal(600, tokenizer.VocabSize);
        Assert.Equal(0, ready.EodTokenId);

        // A different sample size is a different tokenizer.
        await host.SendAsync(new TrainTokenizer { RunId = "run-c", SampleBlobs = [blob], Settings = settings with { SampleBytes = 10_000 } });
        var smaller = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "run-c");
        Assert.NotEqual(ready.TokenizerHash, smaller.TokenizerHash);
    }

    [Fact]
    public async Task TrainTokenizer_reports_failures()
    {
        await using var host = await TokenizeHost.StartAsync();
        await host.SendAsync(new TrainTokenizer { RunId = "missing", SampleBlobs = ["shards/none.jsonl"], Settings = new TokenizerTrainingSpec { VocabSize = 600 } });
        var failed = await host.Events.WaitAsync<TokenizerFailed>(e => e.RunId == "missing");
        Assert.Contains("shards/none.jsonl", failed.Reason);

        var (_, blob) = await host.PutShardAsync(["some text"]);
        await host.SendAsync(new TrainTokenizer { RunId = "small", SampleBlobs = [blob], Settings = new TokenizerTrainingSpec { VocabSize = 100 } });
        Assert.Contains("below", (await host.Events.WaitAsync<TokenizerFailed>(e => e.RunId == "small")).Reason);
    }

    [Fact]
    public async Task RegisterTokenizer_copies_a_supported_json_and_refuses_others()
    {
        await using var host = await TokenizeHost.StartAsync();
        var path = TestFiles.Path("trained-1000.json");
        await host.SendAsync(new RegisterTokenizer { RunId = "given", Path = path });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "given");
        var original = await File.ReadAllBytesAsync(path);
        Assert.Equal(original, await ReadBlobAsync(host, ready.TokenizerBlob));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(original)), ready.TokenizerHash);
        Assert.Equal(1000, ready.VocabSize);
        Assert.Equal(0, ready.EodTokenId);

        var unigram = Path.Combine(host.StateDir, "unigram.json");
        await File.WriteAllTextAsync(unigram, """{"normalizer":null,"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram","vocab":[["a",0.0]]}}""");
        await host.SendAsync(new RegisterTokenizer { RunId = "unigram", Path = unigram });
        var failed = await host.Events.WaitAsync<TokenizerFailed>(e => e.RunId == "unigram");
        Assert.Contains("Metaspace", failed.Reason);
    }

    [Theory]
    [InlineData("sp-unigram.model", ".model")]
    [InlineData("cl100k_base.tiktoken", ".cl100k_base.tiktoken")]
    public async Task SentencePiece_and_tiktoken_files_register_and_tokenize_shards(string file, string suffix)
    {
        await using var host = await TokenizeHost.StartAsync();
        var path = TestFiles.Path(file);
        await host.SendAsync(new RegisterTokenizer { RunId = file, Path = path });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == file);
        Assert.EndsWith(ready.TokenizerHash + suffix, ready.TokenizerBlob, StringComparison.Ordinal);
        var tokenizer = Jiniac.Text.TokenizerFiles.Load(path);
        Assert.Equal(tokenizer.EndOfDocumentId, ready.EodTokenId);

        var docs = TestFiles.Documents();
        var (key, blob) = await host.PutShardAsync(docs);
        await host.SendAsync(Tokenize(file, "s1", ready, (key, blob)));
        var done = await host.Events.WaitAsync<ShardResult>(e => e.ShardKey == key && e.RunId == file);
        var bin = await host.Blobs.GetLocalPathAsync(done.Prefix + ".bin", CancellationToken.None);
        using var dataset = IndexedDataset.Open(bin[..^4]);
        Assert.Equal(docs.Count, dataset.DocumentCount);
        for (var i = 0; i < docs.Count; i++)
        {
            var ids = new List<int>();
            tokenizer.Encode(docs[i], ids);
            Assert.Equal([.. ids, ready.EodTokenId], dataset.GetSequence(i));
        }
    }

    [Fact]
    public async Task TokenizeShards_writes_a_megatron_dataset_once_and_reuses_it()
    {
        await using var host = await TokenizeHost.StartAsync();
        var path = TestFiles.Path("trained-1000.json");
        await host.SendAsync(new RegisterTokenizer { RunId = "r", Path = path });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "r");
        var docs = TestFiles.Documents();
        var (key, blob) = await host.PutShardAsync(docs);
        var command = Tokenize("r", "s1", ready, (key, blob));

        await host.SendAsync(command);
        var first = await host.Events.WaitAsync<ShardResult>(e => e.ShardKey == key && !e.Reused);
        Assert.Equal($"tokenized/{ready.TokenizerHash[..16]}/{key}", first.Prefix);
        Assert.Equal(docs.Count, first.Documents);

        var tokenizer = BpeTokenizer.FromFile(path);
        var bin = await host.Blobs.GetLocalPathAsync(first.Prefix + ".bin", CancellationToken.None);
        var idx = await host.Blobs.GetLocalPathAsync(first.Prefix + ".idx", CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(bin);
        long tokens = 0;
        using (var dataset = IndexedDataset.Open(bin[..^4]))
        {
            Assert.Equal(IndexedDatasetDType.UInt16, dataset.DType);
            Assert.Equal(docs.Count, dataset.DocumentCount);
            for (var i = 0; i < docs.Count; i++)
            {
                int[] expected = [.. tokenizer.Encode(docs[i]), ready.EodTokenId];
                Assert.Equal(expected, dataset.GetSequence(i));
                tokens += expected.Length;
            }
        }

        Assert.Equal(tokens, first.Tokens);

        await host.SendAsync(command with { Stage = "s2" });
        var second = await host.Events.WaitAsync<ShardResult>(e => e.ShardKey == key && e.Reused);
        Assert.Equal(first.Prefix, second.Prefix);
        Assert.Equal(first.Documents, second.Documents);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.Equal(written, File.GetLastWriteTimeUtc(bin));
        Assert.True(File.Exists(idx));
        Assert.Equal(2, host.Events.All.OfType<ShardResult>().Count());
    }

    [Fact]
    public async Task AddSpecialTokens_encodes_with_the_template_at_its_own_content_address()
    {
        // unigram-2000.json's TemplateProcessing puts <s> (id 1) first; </s> (id 2) is the end-of-document token.
        await using var host = await TokenizeHost.StartAsync();
        var path = TestFiles.Path("unigram-2000.json");
        await host.SendAsync(new RegisterTokenizer { RunId = "r", Path = path });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "r");
        var docs = TestFiles.Documents();
        var (key, blob) = await host.PutShardAsync(docs);
        var plain = Tokenize("r", "plain", ready, (key, blob));

        await host.SendAsync(plain);
        var first = await host.Events.WaitAsync<ShardResult>(e => e.Stage == "plain");
        await host.SendAsync(plain with { Stage = "special", AddSpecialTokens = true });
        var special = await host.Events.WaitAsync<ShardResult>(e => e.Stage == "special");

        Assert.Equal($"tokenized/{ready.TokenizerHash[..16]}/{key}", first.Prefix);
        Assert.Equal($"tokenized/{ready.TokenizerHash[..16]}-special/{key}", special.Prefix);
        Assert.False(special.Reused); // the plain encoding is not taken for the special one
        Assert.Equal(first.Tokens + docs.Count, special.Tokens);
        var tokenizer = BpeTokenizer.FromFile(path);
        var bin = await host.Blobs.GetLocalPathAsync(special.Prefix + ".bin", CancellationToken.None);
        using var dataset = IndexedDataset.Open(bin[..^4]);
        for (var i = 0; i < docs.Count; i++)
        {
            int[] expected = [.. tokenizer.Encode(docs[i], addSpecialTokens: true), ready.EodTokenId];
            Assert.Equal(1, expected[0]);
            Assert.Equal(expected, dataset.GetSequence(i));
        }
    }

    [Fact]
    public async Task TokenizeShards_names_the_bad_line_of_a_shard()
    {
        await using var host = await TokenizeHost.StartAsync();
        await host.SendAsync(new RegisterTokenizer { RunId = "r", Path = TestFiles.Path("trained-1000.json") });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "r");
        var (key, blob) = await host.PutRawShardAsync(Encoding.UTF8.GetBytes("{\"id\":\"a:1\",\"text\":\"fine\"}\n{\"id\":\"a:2\",\"text\":\"broken\n{\"id\":\"a:3\",\"text\":\"x\"}\n"));
        await host.SendAsync(Tokenize("r", "s", ready, (key, blob)));
        var failed = await host.Events.WaitAsync<ShardTokenizeFailed>(e => e.ShardKey == key);
        Assert.Contains("line 2", failed.Reason);
        Assert.Contains(key, failed.Reason);
        Assert.False(await host.Blobs.ExistsAsync($"tokenized/{ready.TokenizerHash[..16]}/{key}.idx", CancellationToken.None));
    }

    [Fact]
    public async Task One_command_of_several_shards_reports_them_together_and_a_bad_one_apart()
    {
        await using var host = await TokenizeHost.StartAsync();
        await host.SendAsync(new RegisterTokenizer { RunId = "r", Path = TestFiles.Path("trained-1000.json") });
        var ready = await host.Events.WaitAsync<TokenizerReady>(e => e.RunId == "r");
        var docs = TestFiles.Documents();
        var first = await host.PutShardAsync(docs.Take(3).ToList());
        var bad = await host.PutRawShardAsync(Encoding.UTF8.GetBytes("{\"id\":\"b:1\",\"text\":\"fine\"}\nnot json\n"));
        var last = await host.PutShardAsync(docs.Skip(3).ToList());

        await host.SendAsync(Tokenize("r", "s", ready, first, bad, last));

        var failed = await host.Events.WaitAsync<ShardTokenizeFailed>(e => e.ShardKey == bad.Key);
        Assert.Contains("line 2", failed.Reason);
        var done = await host.Events.WaitAsync<ShardsTokenized>(e => e.RunId == "r");
        Assert.Equal([first.Key, last.Key], done.Shards.Select(x => x.ShardKey));
        Assert.Equal([3L, docs.Count - 3L], done.Shards.Select(x => x.Documents));
        Assert.All(done.Shards, x => Assert.Equal($"tokenized/{ready.TokenizerHash[..16]}/{x.ShardKey}", x.Prefix));
        Assert.Equal(ready.TokenizerHash, done.TokenizerHash);
        Assert.Single(host.Events.All.OfType<ShardsTokenized>());
    }

    private static TokenizeShards Tokenize(string runId, string stage, TokenizerReady ready, params (string Key, string Blob)[] shards) => new()
    {
        RunId = runId,
        Stage = stage,
        Shards = [.. shards.Select(s => new ShardToTokenize { ShardKey = s.Key, ShardBlob = s.Blob })],
        TokenizerBlob = ready.TokenizerBlob,
        TokenizerHash = ready.TokenizerHash,
    };

    private static async Task<byte[]> ReadBlobAsync(TokenizeHost host, string key)
    {
        await using var s = await host.Blobs.OpenReadAsync(key, CancellationToken.None);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }
}
