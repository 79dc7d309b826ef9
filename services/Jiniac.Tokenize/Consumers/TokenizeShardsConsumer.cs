using Jiniac.Contracts;
using Jiniac.Formats.Megatron;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Jiniac.Text.Bpe;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Tokenize.Consumers;

/// <summary>
/// Encodes each shard of a <see cref="TokenizeShards"/> into a Megatron indexed dataset at the content address
/// <c>tokenized/&lt;TokenizerHash[..16]&gt;/&lt;ShardKey&gt;</c> (+ .bin / .idx; <c>&lt;TokenizerHash[..16]&gt;-special</c> when
/// <see cref="TokenizeShards.AddSpecialTokens"/> is on, so the two encodings never share a blob): the same shard, tokenizer and
/// encoding always land at the same key, so work already done is reported (Reused) instead of redone. The .bin is stored before
/// the .idx, so an existing .idx means a complete dataset.
/// The shards are encoded one after another and reported together in one <see cref="ShardsTokenized"/>. A shard that cannot be
/// encoded (bad data, a missing blob) gets its own <see cref="ShardTokenizeFailed"/> and the others go on; any other fault fails
/// the command, whose redelivery finds the shards done so far already encoded.
/// </summary>
public sealed class TokenizeShardsConsumer(
    IBlobStore blobs,
    TokenizerStore store,
    StatePaths paths,
    IOptions<TokenizeOptions> options,
    ILogger<TokenizeShardsConsumer> logger) : IConsumer<TokenizeShards>
{
    public static string PrefixOf(string tokenizerHash, string shardKey, bool addSpecialTokens = false) =>
        BlobKey.Combine("tokenized", addSpecialTokens ? tokenizerHash[..16] + "-special" : tokenizerHash[..16], shardKey);

    public async Task Consume(ConsumeContext<TokenizeShards> context)
    {
        var command = context.Message;
        var ct = context.CancellationToken;
        var done = new List<TokenizedShard>(command.Shards.Count);
        foreach (var shard in command.Shards)
        {
            try
            {
                done.Add(await TokenizeAsync(command, shard, ct));
            }
            catch (Exception e) when (e is InvalidDataException or BlobNotFoundException or UnsupportedTokenizerException or ArgumentException)
            {
                var reason = $"shard {shard.ShardKey} ({shard.ShardBlob}): {e.Message}";
                Log.ShardFailed(logger, shard.ShardKey, reason);
                await context.Publish(new ShardTokenizeFailed { RunId = command.RunId, Stage = command.Stage, ShardKey = shard.ShardKey, Reason = reason }, ct);
            }
        }

        if (done.Count > 0)
        {
            await context.Publish(new ShardsTokenized { RunId = command.RunId, Stage = command.Stage, TokenizerHash = command.TokenizerHash, Shards = done }, ct);
        }
    }

    private async Task<TokenizedShard> TokenizeAsync(TokenizeShards command, ShardToTokenize shard, CancellationToken ct)
    {
        if (command.TokenizerHash.Length < 16 || !SafeName.IsValid(shard.ShardKey))
        {
            throw new ArgumentException($"shard key '{shard.ShardKey}' or tokenizer hash '{command.TokenizerHash}' is not usable in a blob key");
        }

        var prefix = PrefixOf(command.TokenizerHash.ToLowerInvariant(), shard.ShardKey, command.AddSpecialTokens);
        if (await blobs.ExistsAsync(prefix + ".idx", ct))
        {
            (long Documents, long Tokens) counts;
            await using (var idx = await blobs.OpenReadAsync(prefix + ".idx", ct))
            {
                counts = await IndexSummary.ReadAsync(idx, ct);
            }

            return Done(shard, prefix, counts.Documents, counts.Tokens, reused: true);
        }

        var tokenizer = await store.GetAsync(command.TokenizerBlob, command.TokenizerHash, ct);
        var eod = command.AppendEod
            ? tokenizer.EndOfDocumentId ?? throw new InvalidDataException("the tokenizer has no end-of-document token")
            : (int?)null;
        var encoded = await EncodeAsync(command, shard, tokenizer, eod, prefix, ct);
        return Done(shard, prefix, encoded.Documents, encoded.Tokens, reused: false);
    }

    private async Task<EncodeCounts> EncodeAsync(TokenizeShards command, ShardToTokenize shard, Jiniac.Text.ITextTokenizer tokenizer, int? eod, string prefix, CancellationToken ct)
    {
        var o = options.Value;
        var temp = Path.Combine(paths.Temp, "tokenize-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var localPrefix = Path.Combine(temp, "data");
            var counts = new EncodeCounts();
            using (var writer = new IndexedDatasetWriter(localPrefix, IndexedDatasetDTypes.ForVocabulary(tokenizer.VocabSize)))
            {
                await using (var input = await blobs.OpenReadAsync(shard.ShardBlob, ct))
                {
                    await new DocumentEncoder(tokenizer, o.Workers, o.BatchBytes, command.AddSpecialTokens).EncodeAsync(input, shard.ShardBlob, "text", eod, writer, counts, null, ct);
                }

                writer.Complete();
            }

            await blobs.PutFileAsync(prefix + ".bin", localPrefix + ".bin", move: true, ct);
            await blobs.PutFileAsync(prefix + ".idx", localPrefix + ".idx", move: true, ct);
            return counts;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private TokenizedShard Done(ShardToTokenize shard, string prefix, long documents, long tokens, bool reused)
    {
        Log.ShardTokenized(logger, shard.ShardKey, documents, tokens, prefix, reused ? "reused" : "encoded");
        return new TokenizedShard { ShardKey = shard.ShardKey, Prefix = prefix, Documents = documents, Tokens = tokens, Reused = reused };
    }
}
