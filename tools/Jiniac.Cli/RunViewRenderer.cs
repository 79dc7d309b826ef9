using System.Globalization;
using Jiniac.Contracts.Grpc.Control.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Jiniac.Cli;

internal static class RunViewRenderer
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IRenderable LiveTable(RunView view)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(view.RunId)}[/] — {Colour(view.Status)}")
            .AddColumns("stage", "status", "data", "step", "loss", "tokens/s", "ETA", "eval (ppl)");
        foreach (var s in view.Stages)
        {
            table.AddRow(
                Markup.Escape(s.Name),
                Colour(s.Status) + (s.Attempt > 1 ? $" (attempt {s.Attempt})" : ""),
                Data(s),
                s.TotalSteps > 0 ? $"{s.Step}/{s.TotalSteps}" : "",
                double.IsNaN(s.Loss) || s.Step == 0 ? "" : s.Loss.ToString("F3", Inv),
                s.TokensPerSecond > 0 && s.Status == "Training" ? s.TokensPerSecond.ToString("N0", Inv) : "",
                s.Status == "Training" ? Eta(s) : "",
                Markup.Escape(EvalSummary(s)));
        }

        if (!string.IsNullOrEmpty(view.Reason))
        {
            table.Caption($"[red]{Markup.Escape(view.Reason)}[/]");
        }

        return table;
    }

    public static string StatusKey(RunView view) => view.Status + "|" + string.Join(",", view.Stages.Select(s => $"{s.Status}:{s.Attempt}"));

    public static string PlainLine(RunView view)
    {
        var current = view.Stages.FirstOrDefault(s => s.Name == view.CurrentStage) ?? view.Stages[^1];
        var parts = new List<string> { $"run {view.Status}", $"stage {current.Name} {current.Status}" };
        if (current.Status == "Preparing")
        {
            parts.Add($"sources {current.Ingest.SourcesDone}/{current.Ingest.SourcesTotal}, shards {current.Shards.Tokenized}/{current.Shards.Total} tokenized");
        }

        if (current.TotalSteps > 0)
        {
            parts.Add($"step {current.Step}/{current.TotalSteps}");
            if (current.Step > 0 && !double.IsNaN(current.Loss))
            {
                parts.Add($"loss {current.Loss.ToString("F3", Inv)}");
            }

            if (current.Status == "Training" && current.TokensPerSecond > 0)
            {
                parts.Add($"{current.TokensPerSecond.ToString("N0", Inv)} tok/s, ETA {Eta(current)}");
            }
        }

        var next = view.Stages.FirstOrDefault(s => s.Index == current.Index + 1);
        if (next is not null && next.Status != "Pending")
        {
            parts.Add($"next {next.Name} {next.Status}");
        }

        return string.Join(" | ", parts);
    }

    public static void WriteSummary(RunView view, TimeSpan elapsed)
    {
        AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(view.RunId)}[/]: {Colour(view.Status)} in {elapsed:hh\\:mm\\:ss}");
        if (!string.IsNullOrEmpty(view.Reason))
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(view.Reason)}[/]");
        }

        AnsiConsole.Write(StatusTable(view));
        AnsiConsole.Write(EvaluationTable(view));
        WriteSuites(view);
        foreach (var s in view.Stages)
        {
            foreach (var p in s.Published)
            {
                AnsiConsole.MarkupLine($"published {Markup.Escape(s.Name)} step {p.Step}: {Markup.Escape(p.Folder)} (revision {p.Revision[..Math.Min(12, p.Revision.Length)]})");
            }
        }
    }

    public static Table StatusTable(RunView view)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("stage", "status", "records in/out", "dup", "quar.", "shards", "tokens", "steps", "final loss", "checkpoints", "restarts");
        foreach (var s in view.Stages)
        {
            var final = s.Checkpoints.Count > 0 ? s.Checkpoints[^1] : null;
            table.AddRow(
                Markup.Escape(s.Name),
                Colour(s.Status) + (s.Attempt > 1 ? $" (attempt {s.Attempt})" : "") + (string.IsNullOrEmpty(s.Reason) ? "" : $"\n[red]{Markup.Escape(s.Reason)}[/]"),
                $"{s.Ingest.RecordsIn}/{s.Ingest.RecordsOut}",
                s.Ingest.NearDuplicates > 0 ? $"{s.Ingest.Duplicates.ToString(Inv)} +{s.Ingest.NearDuplicates.ToString(Inv)} near" : s.Ingest.Duplicates.ToString(Inv),
                s.Ingest.Quarantined.ToString(Inv),
                $"{s.Shards.Tokenized}/{s.Shards.Total}",
                s.TokensTrained.ToString("N0", Inv),
                s.TotalSteps > 0 ? $"{s.Step}/{s.TotalSteps}" : "",
                final is null ? "" : final.Loss.ToString("F3", Inv),
                s.Checkpoints.Count.ToString(Inv),
                s.Restarts.ToString(Inv));
        }

        return table;
    }

    public static Table EvaluationTable(RunView view)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("held-out evaluation").AddColumns("stage", "step", "domain", "tokens", "loss", "perplexity", "bits/byte");
        foreach (var s in view.Stages)
        {
            foreach (var e in s.Evaluations)
            {
                foreach (var r in e.Results)
                {
                    table.AddRow(Markup.Escape(s.Name), e.Step.ToString(Inv), Markup.Escape(r.Domain), r.Tokens.ToString("N0", Inv),
                        r.Loss.ToString("F3", Inv), r.Perplexity.ToString("F2", Inv), r.BitsPerByte.ToString("F3", Inv));
                }
            }
        }

        return table;
    }

    /// <summary>Benchmark metrics (suites, harnesses) and generation samples, when any evaluation has them.</summary>
    public static void WriteSuites(RunView view)
    {
        var metrics = new Table().Border(TableBorder.Rounded).Title("benchmark suites").AddColumns("stage", "step", "metric", "value");
        var samples = new Table().Border(TableBorder.Rounded).Title("generation samples").AddColumns("stage", "step", "suite", "mode", "prompt", "continuation", "repetition");
        foreach (var s in view.Stages)
        {
            foreach (var e in s.Evaluations)
            {
                foreach (var m in e.Metrics)
                {
                    // Perplexity is in the held-out table already; standard errors would double the rows.
                    if (!m.Name.StartsWith("perplexity/", StringComparison.Ordinal) && !m.Name.StartsWith("bits_per_byte/", StringComparison.Ordinal)
                        && !m.Name.StartsWith("loss/", StringComparison.Ordinal) && !m.Name.EndsWith("_stderr", StringComparison.Ordinal))
                    {
                        metrics.AddRow(Markup.Escape(s.Name), e.Step.ToString(Inv), Markup.Escape(m.Name), m.Value.ToString("F4", Inv));
                    }
                }

                foreach (var g in e.Generations)
                {
                    var text = g.Text.ReplaceLineEndings(" ");
                    samples.AddRow(Markup.Escape(s.Name), e.Step.ToString(Inv), Markup.Escape(g.Suite), Markup.Escape(g.Mode), Markup.Escape(g.Prompt),
                        Markup.Escape(text.Length > 60 ? text[..60] + "…" : text), g.RepetitionRate.ToString("F2", Inv));
                }
            }
        }

        if (metrics.Rows.Count > 0)
        {
            AnsiConsole.Write(metrics);
        }

        if (samples.Rows.Count > 0)
        {
            AnsiConsole.Write(samples);
        }
    }

    private static string Data(StageView s) => s.Status switch
    {
        "Pending" => "",
        "Preparing" => $"ingest {s.Ingest.SourcesDone}/{s.Ingest.SourcesTotal}, tok {s.Shards.Tokenized}/{s.Shards.Total}",
        _ => $"{s.Shards.Total} shards, {s.Ingest.RecordsOut} docs",
    };

    private static string EvalSummary(StageView s)
    {
        if (s.Evaluations.Count == 0)
        {
            return "";
        }

        return string.Join(" ", s.Evaluations[^1].Results.Select(r => $"{r.Domain} {r.Perplexity.ToString("F1", Inv)}"));
    }

    public static string Eta(StageView s)
    {
        if (s.Step <= 0 || s.TokensPerSecond <= 0)
        {
            return "";
        }

        var tokensPerStep = (double)s.TokensTrained / s.Step;
        var seconds = (s.TotalSteps - s.Step) * tokensPerStep / s.TokensPerSecond;
        return TimeSpan.FromSeconds(Math.Max(0, seconds)).ToString(@"m\:ss", Inv);
    }

    private static string Colour(string status) => status switch
    {
        "Completed" => "[green]Completed[/]",
        "Failed" => "[red]Failed[/]",
        "Cancelled" => "[yellow]Cancelled[/]",
        "Training" => "[blue]Training[/]",
        "Gated" => "[yellow]Gated (jiniac approve)[/]",
        _ => Markup.Escape(status),
    };
}
