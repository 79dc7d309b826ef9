using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;

namespace Jiniac.Orchestrator.Tests;

/// <summary>lr_schedule: the stage's LaunchTraining carries where it sits in its learning-rate schedule.</summary>
public sealed class LearningRateWindowTests(OrchestratorHostFixture fixture) : IClassFixture<OrchestratorHostFixture>
{
    [Fact]
    public async Task A_continuing_curriculum_launches_its_first_stage_with_the_window_of_both_stages()
    {
        const string run = "lr-continue";
        var spec = Pipelines.TwoStages(run) with { Training = Pipelines.TwoStages(run).Training with { LrSchedule = LrSchedules.Continue } };
        await Drive.ToFirstStageTrainingAsync(fixture.Host, run, spec);

        var launch = Assert.Single(await fixture.Host.Commands.WaitForAsync<LaunchTraining>(x => x.RunId == run));
        var batch = (long)spec.Training.MicroBatchSize * spec.Training.SeqLength;
        var steps = spec.Stages.Select(s => (s.TokenBudget + batch - 1) / batch).ToList();
        Assert.Equal((0L, steps[0] + steps[1]), (launch.ScheduleOffsetSteps, launch.ScheduleTotalSteps));
        Assert.Equal(new LearningRateWindow(steps[0], steps[0] + steps[1]), LearningRateWindow.For(spec.Stages, spec.Training, 1));
    }
}
