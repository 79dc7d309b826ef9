using Jiniac.Contracts;
using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.Orchestrator.Tests;

/// <summary>
/// A stage tells its Run of a change with a [OneWay] call, which is lost when the Run's silo dies at that moment.
/// Here a grain call filter drops those notices, as a dead silo would; the Run's reconcile reminder must find the
/// change on its own and move the curriculum on.
/// </summary>
public sealed class LostNoticeTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jiniac-lost-notice-" + Guid.NewGuid().ToString("n"));
    private readonly NoticeDropper _dropper = new();
    private OrchestratorHost _host = null!;

    public async Task InitializeAsync() => _host = await OrchestratorHost.StartAsync(_dir,
        [new("Orchestrator:ReissueCheckPeriod", "00:00:01")],
        builder => builder.Services.AddSingleton<IIncomingGrainCallFilter>(_dropper));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_stage_Ready_whose_notice_to_the_run_was_lost_is_still_launched_by_the_runs_reconcile_reminder()
    {
        const string run = "lost-notice";
        var s = await Drive.ToFirstStageTrainingAsync(_host, run);

        // "ja" gets ready while its notices are lost; "en" completes (its notices arrive).
        _dropper.Dropping = true;
        await Drive.SecondStageReadyAsync(_host, s);
        // The notice is one-way: it may still be on its way when the stage reads Ready.
        await Eventually.Until(() => Task.FromResult(_dropper.Dropped), n => n > 0, "ja's Ready notice dropped");
        _dropper.Dropping = false;

        await _host.Publish(new TrainingCompleted { RunId = run, Stage = "en", Attempt = 1, FinalStep = 10, Tokens = 1_280, FinalLoss = 2.5, CheckpointFolder = "/ckpt/en/10" });
        await _host.Commands.WaitForAsync<EvaluateCheckpoint>(x => x.RunId == run && x.Stage == "en");
        await _host.Publish(new EvaluationCompleted { RunId = run, Stage = "en", Step = 10, Results = [] });

        // No notice says "ja" is Ready: the reminder finds it, and "ja" trains from en's final checkpoint.
        var launch = Assert.Single(await _host.Commands.WaitForAsync<LaunchTraining>(x => x.RunId == run && x.Stage == "ja"));
        Assert.Equal("/ckpt/en/10", launch.InitFrom);
        Assert.Single(_host.Commands.Of<LaunchTraining>(x => x.RunId == run && x.Stage == "en"));
    }

    /// <summary>Drops IRunGrain.OnStageChangedAsync calls while <see cref="Dropping"/> is set.</summary>
    private sealed class NoticeDropper : IIncomingGrainCallFilter
    {
        private int _dropped;

        public volatile bool Dropping;

        public int Dropped => Volatile.Read(ref _dropped);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (Dropping && context.InterfaceMethod?.Name == nameof(IRunGrain.OnStageChangedAsync))
            {
                Interlocked.Increment(ref _dropped);
                return Task.CompletedTask;
            }

            return context.Invoke();
        }
    }
}
