using System.Diagnostics;
using System.Text;
using Jiniac.Contracts;
using Jiniac.Hosting.Blobs;
using Jiniac.Text.Bpe;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Tokenize.Consumers;

/// <summary>
/// Trains a byte-level BPE tokenizer on the text of the sample shards and stores its tokenizer.json.
/// The sample is the shards in the order given, documents in file order, until <c>SampleBytes</c> UTF-8 bytes of
/// text (the last document is cut at a character boundary), so the same sample and settings give the same bytes.
/// </summary>
public sealed class TrainTokenizerConsumer(IBlobStore blobs, TokenizerStore store, IOptions<TokenizeOptions> options, ILogger<TrainTokenizerConsumer> logger)
    : IConsumer<TrainTokenizer>
{
    public async Task Consume(ConsumeContext<TrainTokenizer> context)
    {
        var command = context.Message;
        var settings = command.Settings;
        var ct = context.CancellationToken;
        try
        {
            if (settings.SpecialTokens.Count == 0)
            {
                throw new ArgumentException("at least one special token is required: the first is the end-of-document token");
            }

            if (settings.VocabSize < settings.SpecialTokens.Count + 256)
            {
                throw new ArgumentException($"vocab size {settings.VocabSize} is below the {settings.SpecialTokens.Count} special tokens + 256 byte symbols");
            }

            var stopwatch = Stopwatch.StartNew();
            var trainer = new BpeTrainer(new BpeTrainingOptions
            {
                VocabSize = settings.VocabSize,
                MinFrequency = settings.MinFrequency,
                SpecialTokens = settings.SpecialTokens,
            });
            var sampled = await FeedSampleAsync(trainer, command.SampleBlobs, settings.SampleBytes, options.Value.BatchBytes, ct);
            var trained = await Task.Run(() => trainer.Train(ct), ct);
            var (key, hash) = await store.PutAsync(trained.Json, ct);
            // The first special token is the end-of-document token (id 0). Tokenizing finds it by BpeTokenizer.EndOfDocumentId,
            // which prefers well-known names; refuse settings where the two would disagree rather than append a different id.
            var eod = trained.Tokenizer.EndOfDocumentId;
            if (eod != 0)
            {
                throw new ArgumentException($"special token '{settings.SpecialTokens[0]}' comes first but '{trained.Tokenizer.IdToToken(eod ?? 0)}' would be taken as the end-of-document token; list it first");
            }

            Log.TokenizerTrained(logger, command.RunId, hash, trained.Tokenizer.VocabSize, trained.Merges, sampled, stopwatch.Elapsed.TotalSeconds);
            await context.Publish(new TokenizerReady
            {
                RunId = command.RunId,
                TokenizerBlob = key,
                TokenizerHash = hash,
                VocabSize = trained.Tokenizer.VocabSize,
                EodTokenId = eod.Value,
            }, ct);
        }
        catch (Exception e) when (e is InvalidDataException or BlobNotFoundException or ArgumentException)
        {
            Log.TokenizerFailed(logger, command.RunId, e.Message);
            await context.Publish(new TokenizerFailed { RunId = command.RunId, Reason = e.Message }, ct);
        }
    }

    private async Task<long> FeedSampleAsync(BpeTrainer trainer, IReadOnlyList<string> sampleBlobs, long sampleBytes, int batchBytes, CancellationToken ct)
    {
        if (sampleBlobs.Count == 0)
        {
            throw new ArgumentException("no sample shards were given");
        }

        long taken = 0;
        foreach (var blob in sampleBlobs)
        {
            await using var stream = await blobs.OpenReadAsync(blob, ct);
            await foreach (var batch in JsonlBatches.ReadAsync(stream, batchBytes, ct))
            {
                foreach (var (offset, length, line) in batch.Lines)
                {
                    var text = JsonlBatches.ReadField(batch.Buffer.AsSpan(offset, length), "text", blob, line);
                    var bytes = Encoding.UTF8.GetByteCount(text);
                    if (taken + bytes > sampleBytes)
                    {
                        text = Prefix(text, sampleBytes - taken);
                        bytes = Encoding.UTF8.GetByteCount(text);
                    }

                    trainer.Feed(text);
                    taken += bytes;
                    if (taken >= sampleBytes)
                    {
                        return taken;
                    }
                }
            }
        }

        return taken;
    }

    private static string Prefix(string text, long maxBytes)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var cut = (int)Math.Min(maxBytes, utf8.Length);
        while (cut > 0 && cut < utf8.Length && (utf8[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        return Encoding.UTF8.GetString(utf8, 0, cut);
    }
}
