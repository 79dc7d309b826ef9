namespace Jiniac.Contracts;

/// <summary>Each command goes to exactly one service's queue. Events are published, not sent.</summary>
public static class Queues
{
    public const string Orchestrator = "jiniac-orchestrator";
    public const string Ingest = "jiniac-ingest";
    public const string Tokenize = "jiniac-tokenize";
    public const string TrainLauncher = "jiniac-train-launcher";
    public const string Evaluator = "jiniac-evaluator";
    public const string Publisher = "jiniac-publisher";

    public static string For(Type command) =>
        command == typeof(IngestSource) ? Ingest
        : command == typeof(TrainTokenizer) || command == typeof(RegisterTokenizer) || command == typeof(TokenizeShards) ? Tokenize
        : command == typeof(LaunchTraining) || command == typeof(StopTraining) || command == typeof(PruneCheckpoints) ? TrainLauncher
        : command == typeof(EvaluateCheckpoint) ? Evaluator
        : command == typeof(PublishModel) ? Publisher
        : throw new ArgumentException($"{command.FullName} is not a command of this platform", nameof(command));
}
