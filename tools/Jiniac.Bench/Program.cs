using Jiniac.Bench;

return args.Length > 0 && args[0] == "tokenize"
    ? TokenizeBench.Run(args.AsSpan(1), Console.Out, Console.Error)
    : Usage(Console.Error);

static int Usage(TextWriter error)
{
    error.WriteLine("usage: jiniac-bench tokenize --tokenizer FILE --text FILE [--threads 1|N|all] [--seconds S]");
    error.WriteLine("                             [--split paragraphs|lines] [--ids-out FILE] [--modes cold,cleared,nocache,warm]");
    error.WriteLine("                             [--impl jiniac|file|mlnet-o200k]");
    return 2;
}
