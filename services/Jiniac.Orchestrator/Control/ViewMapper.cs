using Jiniac.Orchestrator.Grains;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Control;

public static class ViewMapper
{
    public static G.RunView ToProto(Grains.RunView view)
    {
        var run = new G.RunView
        {
            RunId = view.RunId,
            Name = view.Name,
            Status = view.Status,
            Reason = view.Reason ?? "",
            CurrentStage = view.CurrentStage,
            PipelinePath = view.PipelinePath,
            TokenizerBlob = view.Tokenizer?.Blob ?? "",
            VocabSize = view.Tokenizer?.VocabSize ?? 0,
            Created = view.Created.UtcDateTime.ToString("O"),
            Updated = view.Updated.UtcDateTime.ToString("O"),
        };
        foreach (var stage in view.Stages)
        {
            run.Stages.Add(ToProto(stage));
        }

        return run;
    }

    private static G.StageView ToProto(Grains.StageView s)
    {
        var stage = new G.StageView
        {
            Name = s.Name,
            Index = s.Index,
            Status = s.Status,
            Attempt = s.Attempt,
            Reason = s.Reason ?? "",
            TokenBudget = s.TokenBudget,
            TokensTrained = s.TokensTrained,
            Step = s.Step,
            TotalSteps = s.TotalSteps,
            Loss = s.Loss,
            TokensPerSecond = s.TokensPerSecond,
            Shards = new G.ShardCounts { Total = s.ShardsTotal, Tokenized = s.ShardsTokenized, Failed = s.ShardsFailed },
            Ingest = new G.IngestCounts
            {
                RecordsIn = s.RecordsIn,
                RecordsOut = s.RecordsOut,
                Duplicates = s.Duplicates,
                NearDuplicates = s.NearDuplicates,
                Quarantined = s.Quarantined,
                SourcesDone = s.SourcesDone,
                SourcesTotal = s.SourcesTotal,
            },
            JobId = s.JobId ?? "",
            Restarts = s.Restarts,
        };
        foreach (var d in s.Data)
        {
            stage.Data.Add(new G.DataPrefixView { Prefix = d.Prefix, Weight = d.Weight, Source = d.Source, Tokens = d.Tokens });
        }

        foreach (var c in s.Checkpoints)
        {
            stage.Checkpoints.Add(new G.CheckpointView { Step = c.Step, Tokens = c.Tokens, Loss = c.Loss, Folder = c.Folder });
        }

        foreach (var e in s.Evaluations)
        {
            var evaluation = new G.EvaluationView { Step = e.Step };
            foreach (var r in e.Results)
            {
                evaluation.Results.Add(new G.DomainResult
                {
                    Domain = r.Domain,
                    Tokens = r.Tokens,
                    TextBytes = r.TextBytes,
                    Loss = r.Loss,
                    Perplexity = r.Perplexity,
                    BitsPerByte = r.BitsPerByte,
                });
            }

            foreach (var m in e.Metrics)
            {
                evaluation.Metrics.Add(new G.MetricValue { Name = m.Name, Value = m.Value });
            }

            foreach (var g in e.Generations)
            {
                evaluation.Generations.Add(new G.GenerationView { Suite = g.Suite, Prompt = g.Prompt, Mode = g.Mode, Text = g.Text, Tokens = g.Tokens, RepetitionRate = g.RepetitionRate });
            }

            stage.Evaluations.Add(evaluation);
        }

        foreach (var p in s.Published)
        {
            stage.Published.Add(new G.PublishedView { Step = p.Step, Repo = p.Repo, Revision = p.Revision, Folder = p.Folder });
        }

        return stage;
    }
}
