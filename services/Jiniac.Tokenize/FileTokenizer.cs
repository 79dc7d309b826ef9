using System.Diagnostics;
using System.IO.Compression;
using Jiniac.Formats.Megatron;
using Jiniac.Text;

namespace Jiniac.Tokenize;

public sealed record FileTokenizeRequest
{
    /// <summary>A HF tokenizer.json, a SentencePiece <c>.model</c>, or a <c>NAME.tiktoken</c> vocabulary (see <see cref="TokenizerFiles.Load"/>).</summary>
    public required string TokenizerPath { get; init; }

    /// <summary>.jsonl / .json / .jsonl.gz / .json.gz files, or folders searched recursively for them (ordinal path order).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Output is written to <c>{OutputPrefix}_{JsonKey}_document.bin/.idx</c>, as Megatron's preprocess_data.py names it.</summary>
    public required string OutputPrefix { get; init; }

    public int Workers { get; init; } = Environment.ProcessorCount;
    public string JsonKey { get; init; } = "text";
    public bool AppendEod { get; init; }

    /// <summary>Put the tokenizer's special tokens around each document as HF's add_special_tokens does (Llama's BOS),
    /// as Megatron's preprocess_data.py gets them from a Hugging Face tokenizer. Off by default.</summary>
    public bool AddSpecialTokens { get; init; }
    public int BatchBytes { get; init; } = 4 << 20;
}

public sealed record FileTokenizeResult
{
    public required string Prefix { get; init; }
    public required long Documents { get; init; }
    public required long Tokens { get; init; }
    /// <summary>UTF-8 bytes of the documents' text.</summary>
    public required long TextBytes { get; init; }
    /// <summary>Documents left out because their text encodes to no token.</summary>
    public required long EmptyDocuments { get; init; }
    public required double Seconds { get; init; }
    public required IndexedDatasetDType DType { get; init; }
    public required int Files { get; init; }
}

public sealed record FileTokenizeProgress(string File, int FileIndex, int Files, long Documents, long Tokens, long TextBytes);

/// <summary>
/// The <c>jiniac tokenize</c> verb: Megatron preprocess_data.py's job (JSON lines → one indexed dataset), encoding on
/// <see cref="FileTokenizeRequest.Workers"/> threads with the input order kept. uint16 ids below 65,500 vocabulary entries, else int32.
/// </summary>
public sealed class FileTokenizer
{
    public async Task<FileTokenizeResult> RunAsync(FileTokenizeRequest request, IProgress<FileTokenizeProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Workers, 1);
        var stopwatch = Stopwatch.StartNew();
        var files = ResolveInputs(request.Inputs);
        var tokenizer = TokenizerFiles.Load(request.TokenizerPath);
        var eod = request.AppendEod
            ? tokenizer.EndOfDocumentId ?? throw new InvalidDataException($"{request.TokenizerPath}: no end-of-document token to append")
            : (int?)null;
        var prefix = $"{request.OutputPrefix}_{request.JsonKey}_document";
        var dtype = IndexedDatasetDTypes.ForVocabulary(tokenizer.VocabSize);
        var counts = new EncodeCounts();
        var encoder = new DocumentEncoder(tokenizer, request.Workers, request.BatchBytes, request.AddSpecialTokens);
        using (var writer = new IndexedDatasetWriter(prefix, dtype))
        {
            for (var i = 0; i < files.Count; i++)
            {
                var file = files[i];
                await using var stream = OpenInput(file);
                var index = i;
                await encoder.EncodeAsync(stream, file, request.JsonKey, eod, writer, counts,
                    () => progress?.Report(new FileTokenizeProgress(file, index, files.Count, counts.Documents, counts.Tokens, counts.TextBytes)),
                    cancellationToken);
            }

            writer.Complete();
        }

        return new FileTokenizeResult
        {
            Prefix = prefix,
            Documents = counts.Documents,
            Tokens = counts.Tokens,
            TextBytes = counts.TextBytes,
            EmptyDocuments = counts.EmptyDocuments,
            Seconds = stopwatch.Elapsed.TotalSeconds,
            DType = dtype,
            Files = files.Count,
        };
    }

    /// <summary>Files as given, folders expanded to their JSON-lines files (recursively, ordinal order).</summary>
    public static IReadOnlyList<string> ResolveInputs(IReadOnlyList<string> inputs)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = new List<string>();
                foreach (var f in Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories))
                {
                    if (IsJsonLines(f))
                    {
                        found.Add(f);
                    }
                }

                found.Sort(StringComparer.Ordinal);
                files.AddRange(found);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                throw new FileNotFoundException($"input {input} does not exist", input);
            }
        }

        if (files.Count == 0)
        {
            throw new ArgumentException("no .jsonl / .json(.gz) inputs found");
        }

        return files;
    }

    private static bool IsJsonLines(string path) =>
        path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        || path.EndsWith(".jsonl.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json.gz", StringComparison.OrdinalIgnoreCase);

    private static Stream OpenInput(string path)
    {
        Stream file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }
}
