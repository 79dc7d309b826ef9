using Grpc.Core;
using Jiniac.Cli;
using Spectre.Console;

return await Cli.MainAsync(args);

namespace Jiniac.Cli
{
    internal static class Cli
    {
        public const string Usage = """
            jiniac — the Jiniac Platform CLI (docs/cli.md)

            Run and serve (embedded topology):
              jiniac run PIPELINE.yaml [--run-id ID] [--plain]     host the platform, run the pipeline to its end
              jiniac serve                                          host the platform and wait for `submit`
            Operate (a host on --state-dir, or any orchestrator with --endpoint URL [--api-key KEY]):
              jiniac submit PIPELINE.yaml [--run-id ID]             hand a pipeline to a running orchestrator; returns at once
              jiniac status [RUN] [--json]                          stages, shards, checkpoints, evaluations, alerts
              jiniac watch RUN [--plain] [--json] [--interval S]    live progress until the run ends
              jiniac events [RUN] [--from CURSOR] [--follow] [--json] the run's journal (no RUN: every run's)
              jiniac logs RUN STAGE [--follow] [--tail N] [--json]  the stage's trainer log
              jiniac checkpoints RUN [STAGE] [--json]               lineage, pruned, evaluated, published, discarded
              jiniac replay RUN STAGE [--from-checkpoint STEP] [--skip-batches A:B ...] [--reason TEXT]
              jiniac replay-shard RUN STAGE SHARD [--reason TEXT]
              jiniac approve RUN STAGE [--reason TEXT]              release a stage held by a failed gate
              jiniac cancel RUN [--reason TEXT]
              jiniac publish RUN STAGE|STAGE/STEP                   publish a stage's final (or a chosen) checkpoint
              jiniac webhooks deliveries|dead-letters SUB [--run RUN] [--limit N] [--json]   a sink's log (SUB: id, rabbitmq, dapr, pipeline:NAME)
              jiniac webhooks resend SUB [--run RUN] [--event RUN:CURSOR ...]   send dead letters again
              jiniac key new NAME [--role viewer|operator] | jiniac key hash KEY
            Tools:
              jiniac tokenize --tokenizer FILE --input PATH... --output-prefix PREFIX
                              [--workers N] [--json-key text] [--append-eod] [--add-special-tokens]
              jiniac hub serve [--dir DIR] [--port N] [--token-file FILE]
              jiniac ingest --source FILE_OR_GLOB... [--config source.yaml] --output DIR

            --state-dir defaults to ./.jiniac; --endpoint/--api-key default to $JINIAC_ENDPOINT/$JINIAC_API_KEY.
            --json on every read verb (and on the write verbs' replies).
            Exit codes: 0 ok, 1 the run failed or was cancelled, 2 bad input or refused, 3 not found or unreachable,
            4 no key, unknown key or not permitted.
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
                return Commands.TryGetValue(args[0], out var command)
                    ? await command(args[1..])
                    : throw new CliException($"unknown command '{args[0]}'\n\n{Usage}");
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"jiniac: {e.Message}");
                return e.ExitCode;
            }
            catch (RpcException e)
            {
                var (code, hint) = ExitCodeOf(e.StatusCode);
                Console.Error.WriteLine($"jiniac: {(string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail)}{hint}");
                return code;
            }
        }

        private static readonly HashSet<string> Json = ["json"];

        /// <summary>Every verb, as documented in docs/cli.md (a test holds the two together).</summary>
        public static readonly IReadOnlyDictionary<string, Func<string[], Task<int>>> Commands = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.Ordinal)
        {
            ["run"] = a => RunCommand.ExecuteAsync(new CliArgs(a, new HashSet<string> { "plain" })),
            ["status"] = a => StatusCommand.ExecuteAsync(new CliArgs(a, new HashSet<string> { "json" })),
            ["events"] = a => EventsCommand.ExecuteAsync(new CliArgs(a, new HashSet<string> { "json", "follow" })),
            ["replay"] = a => OperatorCommands.ReplayAsync(new CliArgs(a, Json)),
            ["replay-shard"] = a => OperatorCommands.ReplayShardAsync(new CliArgs(a, Json)),
            ["cancel"] = a => OperatorCommands.CancelAsync(new CliArgs(a, Json)),
            ["approve"] = a => OperatorCommands.ApproveAsync(new CliArgs(a, Json)),
            ["submit"] = a => OperatorCommands.SubmitAsync(new CliArgs(a, Json)),
            ["publish"] = a => OperatorCommands.PublishAsync(new CliArgs(a, Json)),
            ["checkpoints"] = a => ReadCommands.CheckpointsAsync(new CliArgs(a, Json)),
            ["logs"] = a => ReadCommands.LogsAsync(new CliArgs(a, new HashSet<string> { "follow", "json" })),
            ["watch"] = a => WatchCommand.ExecuteAsync(new CliArgs(a, new HashSet<string> { "plain", "json" })),
            ["serve"] = a => ServeCommand.ExecuteAsync(new CliArgs(a, new HashSet<string>())),
            ["key"] = a => Task.FromResult(KeyCommand.Execute(new CliArgs(a, new HashSet<string>()))),
            ["tokenize"] = a => TokenizeCommand.ExecuteAsync(new CliArgs(a, new HashSet<string> { "append-eod", "add-special-tokens" })),
            ["hub"] = a => HubCommand.ExecuteAsync(new CliArgs(a, new HashSet<string>())),
            ["ingest"] = a => IngestCommand.ExecuteAsync(new CliArgs(a, new HashSet<string>())),
            ["webhooks"] = a => WebhooksCommand.ExecuteAsync(new CliArgs(a, Json)),
        };

        /// <summary>gRPC statuses as the documented exit codes.</summary>
        public static (int Code, string Hint) ExitCodeOf(StatusCode status) => status switch
        {
            StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.OutOfRange => (ExitCodes.BadInput, ""),
            StatusCode.Unauthenticated => (ExitCodes.PermissionDenied, " (pass --api-key KEY or set JINIAC_API_KEY)"),
            StatusCode.PermissionDenied => (ExitCodes.PermissionDenied, ""),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded => (ExitCodes.NotFound, " (is the orchestrator running at that address?)"),
            _ => (ExitCodes.NotFound, ""),
        };

        public static string StateDir(CliArgs args) => Path.GetFullPath(args.Get("state-dir") ?? ".jiniac");

        public static void Error(string message) => AnsiConsole.MarkupLine($"[red]{Markup.Escape(message)}[/]");
    }
}
