using System.Globalization;
using Jiniac.Tokenize;

namespace Jiniac.Cli;

/// <summary>`jiniac tokenize`: Megatron's preprocess_data.py job — JSON lines in, one indexed dataset out.</summary>
internal static class TokenizeCommand
{
    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var tokenizer = args.Get("tokenizer");
        var inputs = args.GetAll("input");
        var prefix = args.Get("output-prefix");
        var workers = args.GetInt("workers") ?? Environment.ProcessorCount;
        var key = args.Get("json-key") ?? "text";
        var appendEod = args.Flag("append-eod");
        var addSpecialTokens = args.Flag("add-special-tokens");
        args.RejectUnknown();
        if (tokenizer is null || inputs.Count == 0 || prefix is null || args.Positionals.Count > 0)
        {
            throw new CliException("usage: jiniac tokenize --tokenizer FILE --input PATH... --output-prefix PREFIX [--workers N] [--json-key text] [--append-eod] [--add-special-tokens]");
        }

        if (workers < 1)
        {
            throw new CliException("--workers must be at least 1");
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var progress = new Progress<FileTokenizeProgress>(p =>
            Console.Error.WriteLine($"[{p.FileIndex + 1}/{p.Files}] {p.File}: {p.Documents:N0} documents, {p.Tokens:N0} tokens"));
        FileTokenizeResult result;
        try
        {
            result = await new FileTokenizer().RunAsync(new FileTokenizeRequest
            {
                TokenizerPath = Path.GetFullPath(tokenizer),
                Inputs = [.. inputs.Select(Path.GetFullPath)],
                OutputPrefix = Path.GetFullPath(prefix),
                Workers = workers,
                JsonKey = key,
                AppendEod = appendEod,
                AddSpecialTokens = addSpecialTokens,
            }, progress, cancel.Token);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or FormatException)
        {
            throw new CliException(e.Message);
        }

        var mbps = result.TextBytes / 1e6 / Math.Max(result.Seconds, 1e-9);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Prefix}.bin/.idx: {result.Documents:N0} documents, {result.Tokens:N0} tokens ({result.DType}) from {result.Files} file(s), {result.TextBytes / 1e6:F1} MB in {result.Seconds:F1} s ({mbps:F1} MB/s, {workers} workers)"));
        return 0;
    }
}
