using System.Text;
using Grpc.Core;
using Jiniac.Contracts.Grpc.Control.V1;
using Jiniac.Orchestrator.Grains;
using G = Jiniac.Contracts.Grpc.Control.V1;

namespace Jiniac.Orchestrator.Control;

/// <summary>The operator verbs of `jiniac`: replay-shard, publish, checkpoints, logs.</summary>
public sealed partial class ControlService
{
    /// <summary>The launcher's log of a stage's trainer, inside the stage's train folder (TrainingJob.LogFile).</summary>
    public const string TrainerLogFile = "trainer.log";

    private const int DefaultTailLines = 50;
    private const int TailWindowBytes = 1 << 20;
    private const int ChunkBytes = 64 * 1024;

    public override async Task<ReplayStageResponse> ReplayShard(ReplayShardRequest request, ServerCallContext context)
    {
        await GetViewAsync(request.RunId);
        var result = await grains.GetGrain<IRunGrain>(request.RunId).ReplayShardAsync(request.Stage, request.Shard, new ReplayRequest
        {
            Reason = string.IsNullOrEmpty(request.Reason) ? "shard replayed by an operator" : request.Reason,
            RequestedBy = Caller(context),
        });
        return Answer(result, r => new ReplayStageResponse { Attempt = r.Attempt, Status = r.Status });
    }

    public override async Task<PublishCheckpointResponse> PublishCheckpoint(PublishCheckpointRequest request, ServerCallContext context)
    {
        var view = await GetViewAsync(request.RunId);
        long? step = request.HasStep ? request.Step : null;
        var result = await grains.GetGrain<IRunGrain>(request.RunId).PublishAsync(request.Stage, step, Caller(context));
        var published = step ?? view.Stages.FirstOrDefault(s => s.Name == request.Stage)?.Final?.Step ?? 0;
        return Answer(result, r => new PublishCheckpointResponse { Stage = request.Stage, Step = published, Status = r.Status });
    }

    public override async Task<ListCheckpointsResponse> ListCheckpoints(ListCheckpointsRequest request, ServerCallContext context)
    {
        var view = await GetViewAsync(request.RunId);
        var stages = string.IsNullOrEmpty(request.Stage) ? view.Stages : [.. view.Stages.Where(s => s.Name == request.Stage)];
        if (stages.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"run '{request.RunId}' has no stage '{request.Stage}' (stages: {string.Join(", ", view.Stages.Select(s => s.Name))})"));
        }

        var response = new ListCheckpointsResponse();
        foreach (var stage in stages)
        {
            var entry = new StageCheckpoints { Stage = stage.Name, Status = stage.Status, Attempt = stage.Attempt };
            var evaluated = stage.Evaluations.Select(e => e.Step).ToHashSet();
            foreach (var c in stage.Checkpoints)
            {
                var e = Entry(stage, c.Step, c.Tokens, c.Loss, c.Folder);
                (e.Final, e.Pruned, e.Evaluated) = (stage.Final?.Step == c.Step, stage.Pruned.Contains(c.Step), evaluated.Contains(c.Step));
                entry.Checkpoints.Add(e);
            }

            foreach (var d in stage.Discarded)
            {
                var e = Entry(stage, d.Step, d.Tokens, d.Loss, d.Folder);
                (e.DiscardedByAttempt, e.DiscardedReason) = (d.Attempt, d.Reason);
                entry.Discarded.Add(e);
            }

            entry.SkipBatches.AddRange(stage.SkipBatches.Select(r => new SkipRange { From = r.From, To = r.To }));
            response.Stages.Add(entry);
        }

        return response;
    }

    /// <summary>
    /// Reads {state}/runs/RUN/train/STAGE/trainer.log where the launcher writes it: this orchestrator must see the
    /// launcher's state folder (the embedded host; in the distributed topology, a shared filesystem as on a Slurm
    /// cluster). A log that is not there is NotFound, naming the path.
    /// </summary>
    public override async Task WatchTrainerLog(WatchTrainerLogRequest request, IServerStreamWriter<TrainerLogChunk> responseStream, ServerCallContext context)
    {
        var view = await GetViewAsync(request.RunId);
        if (!view.Stages.Any(s => s.Name == request.Stage))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"run '{request.RunId}' has no stage '{request.Stage}' (stages: {string.Join(", ", view.Stages.Select(s => s.Name))})"));
        }

        var path = Path.Combine(paths.TrainDir(request.RunId, request.Stage), TrainerLogFile);
        if (!File.Exists(path))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no trainer log at {path} (the stage has not trained yet, or its launcher writes to another machine's state folder)"));
        }

        var ct = context.CancellationToken;
        var stage = grains.GetGrain<IStageGrain>(GrainKeys.Stage(request.RunId, request.Stage));
        var decoder = Encoding.UTF8.GetDecoder();
        var buffer = new byte[ChunkBytes];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(ChunkBytes)];
        var offset = await SendTailAsync(path, request.TailLines > 0 ? request.TailLines : DefaultTailLines, responseStream, ct);
        while (request.Follow && !ct.IsCancellationRequested)
        {
            var sent = false;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                if (file.Length < offset)
                {
                    offset = 0; // the log was replaced: follow the new one from its start
                    decoder.Reset();
                }

                file.Position = offset;
                int read;
                while ((read = await file.ReadAsync(buffer, ct)) > 0)
                {
                    offset += read;
                    var count = decoder.GetChars(buffer, 0, read, chars, 0, flush: false);
                    await responseStream.WriteAsync(new TrainerLogChunk { Text = new string(chars, 0, count), Offset = offset, Path = path }, ct);
                    sent = true;
                }
            }

            // A stage that no longer trains writes no more: the follower stops once it has everything.
            if (!sent && (await stage.GetViewAsync()).Status != nameof(StageStatus.Training))
            {
                return;
            }

            await Task.Delay(options.Value.WatchPollInterval, time, ct);
        }
    }

    /// <summary>The last <paramref name="lines"/> lines (looked for in the last MiB), as one chunk; returns the end offset.</summary>
    private static async Task<long> SendTailAsync(string path, int lines, IServerStreamWriter<TrainerLogChunk> stream, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = file.Length;
        var start = Math.Max(0, length - TailWindowBytes);
        file.Position = start;
        var bytes = new byte[length - start];
        await file.ReadExactlyAsync(bytes, ct);

        // Complete lines only, counted from the end; a window that starts mid-line drops that partial first line.
        var end = bytes.Length;
        var from = end;
        var seen = 0;
        for (var i = end - 1; i >= 0; i--)
        {
            if (bytes[i] == (byte)'\n' && i != end - 1 && ++seen == lines)
            {
                from = i + 1;
                break;
            }

            from = i;
        }

        if (from == 0 && start > 0)
        {
            var firstBreak = Array.IndexOf(bytes, (byte)'\n');
            from = firstBreak < 0 ? bytes.Length : firstBreak + 1;
        }

        await stream.WriteAsync(new TrainerLogChunk { Text = Encoding.UTF8.GetString(bytes, from, end - from), Offset = length, Path = path }, ct);
        return length;
    }

    private static CheckpointEntry Entry(Grains.StageView stage, long step, long tokens, double loss, string folder) => new()
    {
        Step = step,
        Tokens = tokens,
        Loss = loss,
        Folder = folder,
        PublishedRevision = stage.Published.LastOrDefault(p => p.Step == step)?.Revision ?? "",
    };

    private static string Caller(ServerCallContext context) => ControlCaller.Of(context.GetHttpContext()).Name;

    private static T Answer<T>(ReplayResult result, Func<ReplayResult, T> ok) => result.Error is null
        ? ok(result)
        : throw new RpcException(new Status(result.Status == "NotFound" ? StatusCode.NotFound : StatusCode.FailedPrecondition, result.Error));
}
