using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>training.lr_schedule and stages[].lr_schedule, and the schedule window each stage gets from them.</summary>
public sealed class LrScheduleKeysTests
{
    // PipelineFiles: 4 × 64 = 256 tokens a step; en-prose 2M → 7813 steps, ja-web 1.5M → 5860 steps.
    private const long First = 7813;
    private const long Second = 5860;

    [Fact]
    public void By_default_each_stage_is_a_schedule_of_its_own()
    {
        using var files = new PipelineFiles();
        var spec = files.Load();

        Assert.Equal(LrSchedules.Restart, spec.Training.LrSchedule);
        Assert.All(spec.Stages, s => Assert.Null(s.LrSchedule));
        Assert.Equal(new LearningRateWindow(0, First), LearningRateWindow.For(spec.Stages, spec.Training, 0));
        Assert.Equal(new LearningRateWindow(0, Second), LearningRateWindow.For(spec.Stages, spec.Training, 1));
    }

    [Fact]
    public void Continue_as_the_training_default_spans_the_whole_curriculum()
    {
        using var files = new PipelineFiles();
        var spec = files.Set(20, "  checkpoint_interval: 50\n  lr_schedule: continue").Load();

        Assert.Equal(LrSchedules.Continue, spec.Training.LrSchedule);
        Assert.Equal(new LearningRateWindow(0, First + Second), LearningRateWindow.For(spec.Stages, spec.Training, 0));
        Assert.Equal(new LearningRateWindow(First, First + Second), LearningRateWindow.For(spec.Stages, spec.Training, 1));
    }

    [Fact]
    public void A_stage_overrides_the_default_and_a_restart_stage_starts_a_new_schedule()
    {
        using var files = new PipelineFiles();
        var spec = files.Set(34, "    token_budget: 1_500_000\n    lr_schedule: continue").Load();
        Assert.Equal(LrSchedules.Continue, spec.Stages[1].LrSchedule);
        Assert.Equal(new LearningRateWindow(First, First + Second), LearningRateWindow.For(spec.Stages, spec.Training, 1));

        using var other = new PipelineFiles();
        spec = other.Set(20, "  checkpoint_interval: 50\n  lr_schedule: continue").Set(34, "    token_budget: 1_500_000\n    lr_schedule: restart").Load();
        Assert.Equal(new LearningRateWindow(0, First), LearningRateWindow.For(spec.Stages, spec.Training, 0));
        Assert.Equal(new LearningRateWindow(0, Second), LearningRateWindow.For(spec.Stages, spec.Training, 1));
    }

    [Theory]
    [InlineData(20, "  checkpoint_interval: 50\n  lr_schedule: cosine", 21, 16, "training.lr_schedule")]
    [InlineData(28, "    token_budget: 2M\n    lr_schedule: warm", 29, 18, "stages[0].lr_schedule")]
    public void An_unknown_value_is_reported_at_its_line_and_path(int number, string text, int line, int column, string path)
    {
        using var files = new PipelineFiles();
        var error = files.Set(number, text).Error();

        Assert.Equal((path, line, column), (error.Path, error.Line, error.Column));
        Assert.Contains("must be one of: restart, continue", error.Message);
    }
}

/// <summary>training.retention.archive and archive_parallelism.</summary>
public sealed class RetentionArchiveKeysTests
{
    [Fact]
    public void Archive_is_off_by_default_and_read_when_set()
    {
        using var files = new PipelineFiles();
        Assert.False(files.Load().Training.Retention.Archive);

        var spec = files.Set(20, "  checkpoint_interval: 50\n  retention:\n    archive: true\n    archive_parallelism: 8").Load();
        Assert.Equal(new RetentionSpec { Archive = true, ArchiveParallelism = 8 }, spec.Training.Retention);
    }

    [Fact]
    public void A_parallelism_out_of_range_is_reported_at_its_line()
    {
        using var files = new PipelineFiles();
        var error = files.Set(20, "  checkpoint_interval: 50\n  retention:\n    archive: true\n    archive_parallelism: 0").Error();
        Assert.Equal(("training.retention.archive_parallelism", 23, 26), (error.Path, error.Line, error.Column));
        Assert.Contains("must be in [1, 64]", error.Message);
    }

    [Fact]
    public void Keep_best_names_a_metric_and_a_blank_one_is_refused_at_its_line()
    {
        using var files = new PipelineFiles();
        Assert.Null(files.Load().Training.Retention.KeepBest);
        var spec = files.Set(20, "  checkpoint_interval: 50\n  retention:\n    keep_last: 2\n    keep_best: perplexity/stories").Load();
        Assert.Equal(new RetentionSpec { KeepLast = 2, KeepBest = "perplexity/stories" }, spec.Training.Retention);

        var error = files.Set(20, "  checkpoint_interval: 50\n  retention:\n    keep_best: ' '").Error();
        Assert.Equal(("training.retention.keep_best", 22, 16), (error.Path, error.Line, error.Column));
        Assert.Contains("metric name", error.Message);
    }
}
