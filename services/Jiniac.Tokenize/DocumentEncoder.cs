using Jiniac.Formats.Megatron;
using Jiniac.Text;

namespace Jiniac.Tokenize;

/// <summary>Running totals of an encoding job.</summary>
public sealed class EncodeCounts
{
    public long Documents { get; internal set; }
    public long Tokens { get; internal set; }
    /// <summary>UTF-8 bytes of the documents' text.</summary>
    public long TextBytes { get; internal set; }
    /// <summary>Documents whose text encodes to no token; left out, as Megatron's preprocess_data.py writes no sequence for them.</summary>
    public long EmptyDocuments { get; internal set; }
}

/// <summary>
/// Encodes JSON Lines documents with a tokenizer on several threads and writes them to an indexed dataset in input
/// order: a batch of lines is encoded in parallel, then written, then the next batch is read.
/// </summary>
internal sealed class DocumentEncoder(ITextTokenizer tokenizer, int workers, int batchBytes, bool addSpecialTokens = false)
{
    public async Task EncodeAsync(Stream input, string source, string jsonKey, int? eodId, IndexedDatasetWriter writer, EncodeCounts counts, Action? onBatch, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken };
        await foreach (var batch in JsonlBatches.ReadAsync(input, batchBytes, cancellationToken))
        {
            var results = new int[batch.Lines.Count][];
            var textBytes = new long[batch.Lines.Count];
            try
            {
                await Task.Run(
                () => Parallel.For(0, batch.Lines.Count, options, () => new List<int>(4096), (i, _, ids) =>
                {
                    var (offset, length, lineNumber) = batch.Lines[i];
                    var text = JsonlBatches.ReadField(batch.Buffer.AsSpan(offset, length), jsonKey, source, lineNumber);
                    ids.Clear();
                    tokenizer.Encode(text, ids);
                    if (addSpecialTokens)
                    {
                        // As HF: even an empty text gets its template's tokens.
                        ids.InsertRange(0, tokenizer.SpecialPrefix);
                        ids.AddRange(tokenizer.SpecialSuffix);
                    }

                    if (ids.Count > 0 && eodId is { } eod)
                    {
                        ids.Add(eod);
                    }

                    results[i] = [.. ids];
                    textBytes[i] = System.Text.Encoding.UTF8.GetByteCount(text);
                    return ids;
                }, _ => { }),
                cancellationToken);
            }
            catch (AggregateException e) when (e.InnerExceptions.Any(x => x is InvalidDataException))
            {
                // A bad record: report the earliest one by line, not a bundle of whichever threads hit one.
                throw e.InnerExceptions.OfType<InvalidDataException>().OrderBy(x => x.Data["line"] as long? ?? long.MaxValue).First();
            }

            for (var i = 0; i < results.Length; i++)
            {
                counts.TextBytes += textBytes[i];
                if (results[i].Length == 0)
                {
                    counts.EmptyDocuments++;
                    continue;
                }

                writer.AddDocument(results[i]);
                counts.Documents++;
                counts.Tokens += results[i].Length;
            }

            onBatch?.Invoke();
        }
    }
}
