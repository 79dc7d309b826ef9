using Jiniac.Bench;

return args.Length > 0 && args[0] == "tokenize"
    ? TokenizeBench.Run(args.AsSpan(1), Console.Out, Console.Error)
    : args.Length > 0 && args[0] == "hub"
        ? await HubUploadBench.RunAsync(args.AsMemory(1), Console.Out, Console.Error)
    : args.Length > 0 && args[0] == "blobs"
        ? await BlobStoreBench.RunAsync(args.AsMemory(1), Console.Out, Console.Error)
    : args.Length > 0 && args[0] == "orchestrator-load"
        ? await OrchestratorLoadBench.RunAsync(args.AsMemory(1), Console.Out, Console.Error)
    : args.Length > 0 && args[0] == "ingest"
        ? IngestBench.Run(args.AsSpan(1), Console.Out, Console.Error)
        : Usage(Console.Error);

static int Usage(TextWriter error)
{
    error.WriteLine("usage: jiniac-bench tokenize --tokenizer FILE --text FILE [--threads 1|N|all] [--seconds S]");
    error.WriteLine("                             [--split paragraphs|lines] [--ids-out FILE] [--modes cold,cleared,nocache,warm]");
    error.WriteLine("                             [--impl jiniac|file|mlnet-o200k]");
    error.WriteLine("       jiniac-bench hub [--size-mb 256] [--chunk-mb 16] [--dir DIR]");
    error.WriteLine("       jiniac-bench blobs --connection CONNECTION_STRING [--size-mb 256] [--dir DIR]");
    error.WriteLine("       jiniac-bench orchestrator-load [--shards 100000] [--checkpoints 200] [--bus memory|rabbitmq --rabbitmq URI --redis HOST:PORT]");
    error.WriteLine("       jiniac-bench ingest --from FILE_OR_DIR... [--mb 100] [--repeats 3] [--no-minhash]");
    return 2;
}
