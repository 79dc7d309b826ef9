using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using Jiniac.Orchestrator.Integrations;
using Microsoft.Extensions.Options;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Control;

/// <summary>The control API: every operator action and every read goes through here (CLI, dashboard, scripts).</summary>
public sealed class ControlService(IGrainFactory grains, TimeProvider time, IOptions<ControlOptions> options) : G.ControlService.ControlServiceBase
{
    public override async Task<SubmitRunResponse> SubmitRun(SubmitRunRequest request, ServerCallContext context)
    {
        PipelineSpec spec;
        try
        {
            spec = PipelineLoader.Load(request.PipelinePath);
        }
        catch (PipelineValidationException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{request.PipelinePath}: {e.Message}"));
        }

        var runId = string.IsNullOrEmpty(request.RunId) ? spec.Name : request.RunId;
        if (!SafeName.IsValid(runId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"run id '{runId}' is not a safe name"));
        }

        var result = await grains.GetGrain<IRunGrain>(runId).SubmitAsync(spec);
        if (result.Error is not null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, result.Error));
        }

        return new SubmitRunResponse { RunId = result.RunId, Created = result.Created };
    }

    public override async Task<G.RunView> GetRun(GetRunRequest request, ServerCallContext context)
    {
        var view = await GetViewAsync(request.RunId);
        return ViewMapper.ToProto(view);
    }

    public override async Task<ListRunsResponse> ListRuns(ListRunsRequest request, ServerCallContext context)
    {
        var response = new ListRunsResponse();
        foreach (var runId in await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
        {
            var view = await grains.GetGrain<IRunGrain>(runId).GetViewAsync();
            if (view is not null)
            {
                response.Runs.Add(new RunSummary { RunId = view.RunId, Name = view.Name, Status = view.Status, CurrentStage = view.CurrentStage });
            }
        }

        return response;
    }

    public override async Task<CancelRunResponse> CancelRun(CancelRunRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var status = await grains.GetGrain<IRunGrain>(request.RunId).CancelAsync(string.IsNullOrEmpty(request.Reason) ? "cancelled by an operator" : request.Reason);
        return new CancelRunResponse { Status = status };
    }

    public override async Task<ReplayStageResponse> ReplayStage(ReplayStageRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var result = await grains.GetGrain<IRunGrain>(request.RunId).ReplayStageAsync(request.Stage, string.IsNullOrEmpty(request.Reason) ? "replayed by an operator" : request.Reason);
        if (result.Error is not null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, result.Error));
        }

        return new ReplayStageResponse { Attempt = result.Attempt, Status = result.Status };
    }

    public override async Task<ApproveStageResponse> ApproveStage(ApproveStageRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var result = await grains.GetGrain<IRunGrain>(request.RunId).ApproveStageAsync(request.Stage, string.IsNullOrEmpty(request.Reason) ? "approved by an operator" : request.Reason);
        if (result.Error is not null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, result.Error));
        }

        return new ApproveStageResponse { Attempt = result.Attempt, Status = result.Status };
    }

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<JournalEntry> responseStream, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var types = WatchFilter.Types(request.Types_);
        var journal = grains.GetGrain<IJournalGrain>(request.RunId);
        var run = grains.GetGrain<IRunGrain>(request.RunId);
        var cursor = Math.Max(0, request.From);
        var ct = context.CancellationToken;
        while (!ct.IsCancellationRequested)
        {
            var entries = await journal.ReadAsync(cursor, 500);
            foreach (var e in entries)
            {
                cursor = e.Sequence + 1;
                if (types is not null && !types.Contains(e.Type))
                {
                    continue;
                }

                await responseStream.WriteAsync(new JournalEntry
                {
                    Sequence = e.Sequence,
                    RunId = request.RunId,
                    Timestamp = e.Timestamp.UtcDateTime.ToString("O"),
                    Type = e.Type,
                    Json = e.Json,
                    Stage = e.Stage ?? "",
                }, ct);
            }

            if (entries.Count > 0)
            {
                continue;
            }

            if (!request.Follow)
            {
                return;
            }

            // A finished run has nothing more to say, unless an operator replays it; a follower stops there.
            var view = await run.GetViewAsync();
            if (view is not null && Enum.Parse<RunStatus>(view.Status).IsTerminal() && await journal.CountAsync() <= cursor)
            {
                return;
            }

            await Task.Delay(options.Value.WatchPollInterval, time, ct);
        }
    }

    private async Task<Grains.RunView> GetViewAsync(string runId)
    {
        if (!SafeName.IsValid(runId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"run id '{runId}' is not a safe name"));
        }

        return await grains.GetGrain<IRunGrain>(runId).GetViewAsync()
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"run '{runId}' does not exist"));
    }
}

public sealed class ControlOptions
{
    public const string Section = "Control";

    /// <summary>Where the control API listens. Embedded: loopback only; port 0 picks a free one.</summary>
    public string Url { get; set; } = "http://127.0.0.1:0";

    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}
