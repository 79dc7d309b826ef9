using Grpc.Core;
using Jiniac.Cli;
using Spectre.Console;

return await Cli.MainAsync(args);

namespace Jiniac.Cli
{
    internal static class Cli
    {
        public const string Usage = """
            jiniac — the Jiniac Platform CLI (embedded topology)

              jiniac run PIPELINE.yaml [--run-id ID] [--state-dir DIR] [--plain]
                  Host the embedded platform and run the pipeline to the end with a live view.
                  Running it again (after Ctrl+C or a crash) continues the same run.
              jiniac status [RUN] [--json] [--state-dir DIR]
              jiniac events RUN [--from CURSOR] [--follow] [--json] [--state-dir DIR]
              jiniac replay RUN STAGE [--reason TEXT] [--state-dir DIR]
              jiniac approve RUN STAGE [--reason TEXT] [--state-dir DIR]
                  Release a stage held by a failed gate (status Gated).
              jiniac cancel RUN [--reason TEXT] [--state-dir DIR]
              jiniac tokenize --tokenizer FILE --input PATH... --output-prefix PREFIX
                              [--workers N] [--json-key text] [--append-eod] [--add-special-tokens]
              jiniac hub serve [--dir DIR] [--port N] [--token-file FILE] [--state-dir DIR]
                  Serve a hub folder (default: the state dir's hub/) on loopback with the Hub's API.
              jiniac ingest --source FILE_OR_GLOB... [--config source.yaml] --output DIR
                  Clean, filter, de-duplicate and shard files as a pipeline source would; writes
                  DIR/shards/*.jsonl and DIR/ingest/report.json (+ quarantine.jsonl).

            --state-dir defaults to ./.jiniac. Exit codes: 0 ok, 1 the run failed or was cancelled, 2 bad input.
            """;

        public static async Task<int> MainAsync(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }

            if (Console.IsOutputRedirected)
            {
                // Logs and pipes get plain text: no colour codes, no hyperlinks, no wrapping of wide tables.
                AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Ansi = AnsiSupport.No,
                    ColorSystem = ColorSystemSupport.NoColors,
                    Interactive = InteractionSupport.No,
                    Out = new AnsiConsoleOutput(Console.Out),
                });
                AnsiConsole.Profile.Width = 200;
            }

            try
            {
                var rest = args[1..];
                return args[0] switch
                {
                    "run" => await RunCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string> { "plain" })),
                    "status" => await StatusCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string> { "json" })),
                    "events" => await EventsCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string> { "json", "follow" })),
                    "replay" => await OperatorCommands.ReplayAsync(new CliArgs(rest, new HashSet<string>())),
                    "cancel" => await OperatorCommands.CancelAsync(new CliArgs(rest, new HashSet<string>())),
                    "approve" => await OperatorCommands.ApproveAsync(new CliArgs(rest, new HashSet<string>())),
                    "tokenize" => await TokenizeCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string> { "append-eod", "add-special-tokens" })),
                    "hub" => await HubCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string>())),
                    "ingest" => await IngestCommand.ExecuteAsync(new CliArgs(rest, new HashSet<string>())),
                    _ => throw new CliException($"unknown command '{args[0]}'\n\n{Usage}"),
                };
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"jiniac: {e.Message}");
                return 2;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                Console.Error.WriteLine($"jiniac: {e.Status.Detail}");
                return 2;
            }
        }

        public static string StateDir(CliArgs args) => Path.GetFullPath(args.Get("state-dir") ?? ".jiniac");

        public static void Error(string message) => AnsiConsole.MarkupLine($"[red]{Markup.Escape(message)}[/]");
    }
}
