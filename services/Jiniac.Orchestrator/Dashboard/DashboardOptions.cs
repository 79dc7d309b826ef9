namespace Jiniac.Orchestrator.Dashboard;

/// <summary>Bound from "Dashboard": the web dashboard's own HTTP/1.1 listener (the control API's is HTTP/2 only).</summary>
public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    public bool Enabled { get; set; } = true;

    /// <summary>Where the dashboard listens. Embedded: loopback; port 0 picks a free one (control.json names it).</summary>
    public string Url { get; set; } = "http://127.0.0.1:0";

    /// <summary>How many journal entries one /journal request returns at most; the page asks again from the next cursor.</summary>
    public int JournalPage { get; set; } = 2000;
}
