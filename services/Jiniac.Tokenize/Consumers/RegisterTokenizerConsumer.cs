using Jiniac.Contracts;
using Jiniac.Text;
using Jiniac.Text.Bpe;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Jiniac.Tokenize.Consumers;

/// <summary>
/// Checks a given tokenizer file — tokenizer.json, SentencePiece .model or NAME.tiktoken (refusing what the engine does
/// not support) — copies its bytes unchanged to <c>tokenizers/&lt;sha256&gt;.json</c> (.model, .NAME.tiktoken) and reports it. The end-of-document token is <see cref="BpeTokenizer.EndOfDocumentId"/>:
/// &lt;|endoftext|&gt;, &lt;|end_of_text|&gt;, &lt;/s&gt; or &lt;eos&gt; (first present), else the special token with the lowest id.
/// </summary>
public sealed class RegisterTokenizerConsumer(TokenizerStore store, ILogger<RegisterTokenizerConsumer> logger) : IConsumer<RegisterTokenizer>
{
    public async Task Consume(ConsumeContext<RegisterTokenizer> context)
    {
        var command = context.Message;
        var ct = context.CancellationToken;
        try
        {
            byte[] json;
            try
            {
                json = await File.ReadAllBytesAsync(command.Path, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidDataException($"cannot read tokenizer {command.Path}: {e.Message}", e);
            }

            var suffix = TokenizerFiles.Suffix(command.Path);
            var tokenizer = TokenizerFiles.Load(json, command.Path);
            var eod = tokenizer.EndOfDocumentId
                ?? throw new InvalidDataException($"{command.Path}: no end-of-document token (none of <|endoftext|>, <|end_of_text|>, </s>, <eos>, and no special added token)");
            var (key, hash) = await store.PutAsync(json, suffix, ct);
            Log.TokenizerRegistered(logger, command.RunId, hash, command.Path, tokenizer.VocabSize, eod);
            await context.Publish(new TokenizerReady
            {
                RunId = command.RunId,
                TokenizerBlob = key,
                TokenizerHash = hash,
                VocabSize = tokenizer.VocabSize,
                EodTokenId = eod,
            }, ct);
        }
        catch (Exception e) when (e is InvalidDataException or UnsupportedTokenizerException)
        {
            var reason = $"{command.Path}: {e.Message}";
            Log.TokenizerFailed(logger, command.RunId, reason);
            await context.Publish(new TokenizerFailed { RunId = command.RunId, Reason = reason }, ct);
        }
    }
}
