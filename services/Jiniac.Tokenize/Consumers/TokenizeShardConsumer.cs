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
/// Encodes one shard into a Megatron indexed dataset at the content address
/// <c>tokenized/&lt;TokenizerHash[..16]&gt;/&lt;ShardKey&gt;</c> (+ .bin / .idx; <c>&lt;TokenizerHash[..16]&gt;-special</c> when
/// <see cref="TokenizeShard.AddSpecialTokens"/> is on, so the two encodings never share a blob): the same shard, tokenizer and
/// encoding always land at the same key, so work already done is reported (Reused) instead of redone. The .bin is stored before
/// the .idx, so an existing .idx means a complete dataset.
/// </summary>
public sealed class TokenizeShardConsumer(
    IBlobStore blobs,
    TokenizerStore store,
    StatePaths paths,
    IOptions<TokenizeOptions> options,
    ILogger<TokenizeShardConsumer> logger) : IConsumer<TokenizeShard>
{
    public static string PrefixOf(string tokenizerHash, string shardKey, bool addSpecialTokens = false) =>
        BlobKey.Combine("tokenized", addSpecialTokens ? tokenizerHash[..16] + "-special" : tokenizerHash[..16], shardKey);

    public async Task Consume(ConsumeContext<TokenizeShard> context)
    {
        var command = context.Message;
        var ct = context.CancellationToken;
        string prefix;
        try
        {
            if (command.TokenizerHash.Length < 16 || !SafeName.IsValid(command.ShardKey))
            {
                throw new ArgumentException($"shard key '{command.ShardKey}' or tokenizer hash '{command.TokenizerHash}' is not usable in a blob key");
            }

            prefix = PrefixOf(command.TokenizerHash.ToLowerInvariant(), command.ShardKey, command.AddSpecialTokens);
            if (await blobs.ExistsAsync(prefix + ".idx", ct))
            {
                (long Documents, long Tokens) counts;
                await using (var idx = await blobs.OpenReadAsync(prefix + ".idx", ct))
                {
                    counts = await IndexSummary.ReadAsync(idx, ct);
                }

                await PublishAsync(context, prefix, counts.Documents, counts.Tokens, reused: true);
                return;
            }

            var tokenizer = await store.GetAsync(command.TokenizerBlob, command.TokenizerHash, ct);
            var eod = command.AppendEod
                ? tokenizer.EndOfDocumentId ?? throw new InvalidDataException("the tokenizer has no end-of-document token")
                : (int?)null;
            var encoded = await EncodeAsync(command, tokenizer, eod, prefix, ct);
            await PublishAsync(context, prefix, encoded.Documents, encoded.Tokens, reused: false);
        }
        catch (Exception e) when (e is InvalidDataException or BlobNotFoundException or UnsupportedTokenizerException or ArgumentException)
        {
            var reason = $"shard {command.ShardKey} ({command.ShardBlob}): {e.Message}";
            Log.ShardFailed(logger, command.ShardKey, reason);
            await context.Publish(new ShardTokenizeFailed { RunId = command.RunId, Stage = command.Stage, ShardKey = command.ShardKey, Reason = reason }, ct);
        }
    }

    private async Task<EncodeCounts> EncodeAsync(TokenizeShard command, Jiniac.Text.ITextTokenizer tokenizer, int? eod, string prefix, CancellationToken ct)
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
                await using (var input = await blobs.OpenReadAsync(command.ShardBlob, ct))
                {
                    await new DocumentEncoder(tokenizer, o.Workers, o.BatchBytes, command.AddSpecialTokens).EncodeAsync(input, command.ShardBlob, "text", eod, writer, counts, null, ct);
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

    private async Task PublishAsync(ConsumeContext<TokenizeShard> context, string prefix, long documents, long tokens, bool reused)
    {
        var command = context.Message;
        Log.ShardTokenized(logger, command.ShardKey, documents, tokens, prefix, reused ? "reused" : "encoded");
        await context.Publish(new ShardTokenized
        {
            RunId = command.RunId,
            Stage = command.Stage,
            ShardKey = command.ShardKey,
            TokenizerHash = command.TokenizerHash,
            Prefix = prefix,
            Documents = documents,
            Tokens = tokens,
            Reused = reused,
        }, context.CancellationToken);
    }
}
