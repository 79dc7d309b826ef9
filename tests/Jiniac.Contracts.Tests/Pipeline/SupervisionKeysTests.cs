using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>training.supervision: the train-launcher's babysitting policy, read and checked like every other section.</summary>
public sealed class SupervisionKeysTests
{
    private const string Prefix = "  checkpoint_interval: 50\n  supervision:\n";

    [Fact]
    public void Without_the_section_the_defaults_apply()
    {
        using var files = new PipelineFiles();

        Assert.Equal(new SupervisionSpec(), files.Load().Training.Supervision);
    }

    [Fact]
    public void Every_key_is_read()
    {
        using var files = new PipelineFiles();
        files.Set(20, Prefix + """
                restart_backoff_seconds: 5
                restart_backoff_max_seconds: 80
                same_step_crashes: 2
                stall_factor: 8
                stall_min_seconds: 30
                startup_grace_seconds: 300
                stop_grace_seconds: 20
                low_throughput_ratio: 0.25
                spike_method: zscore
                spike_window: 20
                spike_policy: alert
                max_rollbacks: 1
            """.Replace("\n", "\n  ", StringComparison.Ordinal).Insert(0, "  "));

        var spec = files.Load().Training.Supervision;

        Assert.Equal(new SupervisionSpec
        {
            RestartBackoffSeconds = 5,
            RestartBackoffMaxSeconds = 80,
            SameStepCrashes = 2,
            StallFactor = 8,
            StallMinSeconds = 30,
            StartupGraceSeconds = 300,
            StopGraceSeconds = 20,
            LowThroughputRatio = 0.25,
            SpikeMethod = "zscore",
            // The z-score method has its own default threshold: standard deviations, not a multiple.
            SpikeThreshold = 6,
            SpikeWindow = 20,
            SpikePolicy = "alert",
            MaxRollbacks = 1,
        }, spec);
    }

    [Fact]
    public void The_example_in_the_reference_loads_as_it_says()
    {
        var text = ReferenceDoc.Text();
        var section = text.IndexOf("## `training.supervision`", StringComparison.Ordinal);
        var start = text.IndexOf("  supervision:\n", text.IndexOf("```yaml\n", section, StringComparison.Ordinal), StringComparison.Ordinal) + "  supervision:\n".Length;
        var end = text.IndexOf("```", start, StringComparison.Ordinal);
        using var files = new PipelineFiles();
        files.Set(20, Prefix + text[start..end].TrimEnd('\n'));

        var spec = files.Load().Training.Supervision;

        Assert.Equal(new SupervisionSpec { RestartBackoffSeconds = 30, RestartBackoffMaxSeconds = 900, StallFactor = 10, StallMinSeconds = 300 }, spec);
    }

    [Fact]
    public void Retention_keys_are_read_and_checked()
    {
        using var files = new PipelineFiles();
        Assert.Equal(new RetentionSpec(), files.Load().Training.Retention);

        files.Set(20, "  checkpoint_interval: 50\n  retention:\n    keep_last: 3\n    keep_every: 1000");
        Assert.Equal(new RetentionSpec { KeepLast = 3, KeepEvery = 1000 }, files.Load().Training.Retention);

        var error = files.Set(20, "  checkpoint_interval: 50\n  retention:\n    keep_last: 1").Error();
        Assert.Equal(("training.retention.keep_last", 22, 16), (error.Path, error.Line, error.Column));
        Assert.Contains("must be 0 (keep every checkpoint) or at least 2", error.Message);
    }

    [Theory]
    [InlineData("    spike_policy: undo", 22, 19, "training.supervision.spike_policy", "must be one of: alert, rollback_skip, stop")]
    [InlineData("    spike_method: mad", 22, 19, "training.supervision.spike_method", "must be one of: ratio, zscore")]
    [InlineData("    spike_threshold: 1", 22, 22, "training.supervision.spike_threshold", "must be greater than 1")]
    [InlineData("    spike_window: 2", 22, 19, "training.supervision.spike_window", "must be at least 3")]
    [InlineData("    stall_factor: 0.5", 22, 19, "training.supervision.stall_factor", "must be at least 1")]
    [InlineData("    stall_min_seconds: 0", 22, 24, "training.supervision.stall_min_seconds", "must be greater than 0")]
    [InlineData("    low_throughput_ratio: 1", 22, 27, "training.supervision.low_throughput_ratio", "must be in [0, 1)")]
    [InlineData("    same_step_crashes: 0", 22, 24, "training.supervision.same_step_crashes", "must be at least 1")]
    [InlineData("    restart_backoff_seconds: 30\n    restart_backoff_max_seconds: 10", 23, 34, "training.supervision.restart_backoff_max_seconds", "must be at least restart_backoff_seconds (30)")]
    [InlineData("    stall_factr: 3", 22, 5, "training.supervision.stall_factr", "did you mean 'stall_factor'?")]
    public void A_broken_rule_is_reported_at_its_line_and_path(string text, int line, int column, string path, string message)
    {
        using var files = new PipelineFiles();
        var error = files.Set(20, Prefix + text).Error();

        Assert.Equal(path, error.Path);
        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
        Assert.Contains(message, error.Message);
    }
}
