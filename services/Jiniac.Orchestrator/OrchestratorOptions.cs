namespace Jiniac.Orchestrator;

/// <summary>Bound from "Orchestrator".</summary>
public sealed class OrchestratorOptions
{
    public const string Section = "Orchestrator";

    /// <summary>Re-issue a stage's outstanding commands when nothing was heard from its workers for this long.</summary>
    public TimeSpan ReissueAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an active stage checks whether it has gone quiet (Orleans reminders tick at most once a minute).</summary>
    public TimeSpan ReissueCheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Off for read-only hosts (`jiniac status` with no live host): they look, they never send.</summary>
    public bool IssueWork { get; set; } = true;
}
