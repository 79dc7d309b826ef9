using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.DependencyInjection;
using Jiniac.Orchestrator.Integrations;
using Microsoft.Extensions.Options;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Control;

/// <summary>The control API: every operator action and every read goes through here (CLI, dashboard, scripts).</summary>
public sealed partial class ControlService(IGrainFactory grains, TimeProvider time, IOptions<ControlOptions> options, StatePaths paths) : G.ControlService.ControlServiceBase
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
        var status = await grains.GetGrain<IRunGrain>(request.RunId).CancelAsync($"{(string.IsNullOrEmpty(request.Reason) ? "cancelled by an operator" : request.Reason)} (by {Caller(context)})");
        return new CancelRunResponse { Status = status };
    }

    public override async Task<ReplayStageResponse> ReplayStage(ReplayStageRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var result = await grains.GetGrain<IRunGrain>(request.RunId).ReplayStageAsync(request.Stage, new ReplayRequest
        {
            Reason = string.IsNullOrEmpty(request.Reason) ? "replayed by an operator" : request.Reason,
            RequestedBy = Caller(context),
            FromCheckpoint = request.HasFromCheckpoint ? request.FromCheckpoint : null,
            SkipBatches = [.. request.SkipBatches.Select(r => new Jiniac.Contracts.BatchRange { From = r.From, To = r.To })],
        });
        return Answer(result, r => new ReplayStageResponse { Attempt = r.Attempt, Status = r.Status });
    }

    public override async Task<ApproveStageResponse> ApproveStage(ApproveStageRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var result = await grains.GetGrain<IRunGrain>(request.RunId).ApproveStageAsync(request.Stage, $"{(string.IsNullOrEmpty(request.Reason) ? "approved by an operator" : request.Reason)} (by {Caller(context)})");
        return Answer(result, r => new ApproveStageResponse { Attempt = r.Attempt, Status = r.Status });
    }

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<JournalEntry> responseStream, ServerCallContext context)
    {
        if (request.RunId.Length == 0)
        {
            await WatchAllRunsAsync(request, responseStream, context.CancellationToken);
            return;
        }

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

                await responseStream.WriteAsync(ToEntry(request.RunId, e), ct);
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

    /// <summary>
    /// Every run's journal: a pass reads each run from its own cursor, so a run's entries stay in order while runs
    /// interleave; the registry is read again each pass so runs submitted while watching are streamed too.
    /// </summary>
    private async Task WatchAllRunsAsync(WatchEventsRequest request, IServerStreamWriter<JournalEntry> responseStream, CancellationToken ct)
    {
        if (request.From != 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "from: a watch of every run resumes with cursors (one per run), not from"));
        }

        var types = WatchFilter.Types(request.Types_);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (runId, next) in request.Cursors)
        {
            if (!SafeName.IsValid(runId) || next < 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"cursors: '{runId}' = {next} is not a run id and a sequence >= 0"));
            }

            cursors[runId] = next;
        }

        var registry = grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry);
        while (!ct.IsCancellationRequested)
        {
            var any = false;
            foreach (var runId in await registry.ListAsync())
            {
                var journal = grains.GetGrain<IJournalGrain>(runId);
                var cursor = cursors.GetValueOrDefault(runId);
                IReadOnlyList<JournalEntryView> entries;
                do
                {
                    entries = await journal.ReadAsync(cursor, 500);
                    foreach (var e in entries)
                    {
                        cursor = e.Sequence + 1;
                        if (types is null || types.Contains(e.Type))
                        {
                            await responseStream.WriteAsync(ToEntry(runId, e), ct);
                        }
                    }

                    any |= entries.Count > 0;
                }
                while (entries.Count > 0);

                cursors[runId] = cursor;
            }

            if (!any && !request.Follow)
            {
                return;
            }

            if (!any)
            {
                await Task.Delay(options.Value.WatchPollInterval, time, ct);
            }
        }
    }

    private static JournalEntry ToEntry(string runId, JournalEntryView e) => new()
    {
        Sequence = e.Sequence,
        RunId = runId,
        Timestamp = e.Timestamp.UtcDateTime.ToString("O"),
        Type = e.Type,
        Json = e.Json,
        Stage = e.Stage ?? "",
    };

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

    /// <summary>API keys by name (<c>Control:ApiKeys:NAME:Hash</c>, <c>Control:ApiKeys:NAME:Role</c>). None: loopback callers only.</summary>
    public Dictionary<string, ApiKeyEntry> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A file of more keys, one <c>NAME ROLE SHA256HEX</c> a line (# comments), read at start.</summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>
    /// Without keys, serve callers that are not on loopback too. Only for a container whose port the host publishes on
    /// its own loopback (it must bind 0.0.0.0 inside, and its callers come from the bridge): never on an open network.
    /// </summary>
    public bool AllowUnauthenticated { get; set; }
}

/// <summary>Refused at start: a malformed key, or a control API reachable from other machines with no key to guard it.</summary>
internal sealed class ControlOptionsValidation : IValidateOptions<ControlOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlOptions options)
    {
        ApiKeyRing ring;
        try
        {
            ring = new ApiKeyRing(Options.Create(options));
        }
        catch (OptionsValidationException e)
        {
            return ValidateOptionsResult.Fail(e.Failures);
        }

        if (ring.IsEmpty && !options.AllowUnauthenticated && Uri.TryCreate(options.Url, UriKind.Absolute, out var uri)
            && !(uri.Host == "localhost" || (System.Net.IPAddress.TryParse(uri.Host, out var ip) && System.Net.IPAddress.IsLoopback(ip))))
        {
            return ValidateOptionsResult.Fail(
                $"{ControlOptions.Section}:Url: '{options.Url}' is not a loopback address and no API keys are configured ({ControlOptions.Section}:ApiKeys or {ControlOptions.Section}:ApiKeysFile; {ControlOptions.Section}:AllowUnauthenticated only behind a loopback-published container port: docs/cli.md)");
        }

        return ValidateOptionsResult.Success;
    }
}

public static class ControlAccessExtensions
{
    /// <summary>The key ring and the start-time checks of the control API's access rule.</summary>
    public static IServiceCollection AddControlAccess(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<ControlOptions>, ControlOptionsValidation>();
        services.AddSingleton<ApiKeyRing>();
        return services;
    }
}
