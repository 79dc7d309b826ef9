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

    public static string For(Type command) => command.Name switch
    {
        nameof(IngestSource) => Ingest,
        nameof(TrainTokenizer) or nameof(RegisterTokenizer) or nameof(TokenizeShard) => Tokenize,
        nameof(LaunchTraining) or nameof(StopTraining) => TrainLauncher,
        nameof(EvaluateCheckpoint) => Evaluator,
        nameof(PublishModel) => Publisher,
        _ => throw new ArgumentException($"{command.FullName} is not a command of this platform", nameof(command)),
    };
}
