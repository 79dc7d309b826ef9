using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Jiniac.Modeling;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Jiniac.Trainer;

/// <summary>The train verb: docs/trainer-contract.md.</summary>
public sealed class TrainCommand(TrainJob job, ILogger logger, TimeProvider time)
{
    public const int ExitStopped = 75;

    public int Run()
    {
        var train = job.Train;
        var totalSteps = job.TotalSteps;
        var tokensPerStep = (long)train.MicroBatchSize * train.SeqLength;
        var threads = train.Threads > 0 ? train.Threads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        Directory.CreateDirectory(job.OutputDir);
        var jobHash = job.Hash();

        using var stop = new StopSignal();
        using var model = CreateModel(out var startStep, out var resumeState);
        using var optimizer = new AdamW(model.Parameters, train.Beta1, train.Beta2, train.Eps, train.WeightDecay);
        if (resumeState is not null)
        {
            optimizer.Load(Path.Combine(job.ResumeFrom!, Checkpoints.OptimizerFile));
            if (resumeState.JobHash != jobHash)
            {
                Log.JobHashMismatch(logger, job.ResumeFrom!, resumeState.JobHash, jobHash);
            }
        }

        var lastLoss = resumeState?.Loss ?? float.NaN;
        string? lastCheckpoint = resumeState is null ? null : Path.GetFullPath(job.ResumeFrom!);
        var lastCheckpointStep = resumeState?.Step ?? -1;
        if (startStep >= totalSteps)
        {
            Log.AlreadyDone(logger, startStep, totalSteps);
            if (lastCheckpointStep != startStep)
            {
                lastCheckpoint = SaveCheckpoint(model, optimizer, startStep, lastLoss, totalSteps, jobHash);
            }

            WriteDone(startStep, tokensPerStep, lastLoss, lastCheckpoint!);
            return 0;
        }

        Log.TrainingStarted(logger, model.ParameterCount, totalSteps, totalSteps * tokensPerStep, startStep, threads);
        var schedule = new LearningRateSchedule(train.Lr, train.MinLr, train.WarmupSteps, train.ScheduleTotalSteps == 0 ? totalSteps : train.ScheduleTotalSteps, train.ScheduleOffset);
        using var sampler = new BatchSampler(job.Data, train.Seed, train.SeqLength, job.Model.VocabSize);
        using var metrics = new MetricsWriter(Path.Combine(job.OutputDir, "metrics.jsonl"));
        using var batch = empty([train.MicroBatchSize, train.SeqLength + 1], ScalarType.Int64);
        var batchIds = MemoryMarshal.Cast<byte, long>(batch.bytes);
        using var inputs = batch.narrow(1, 0, train.SeqLength);
        using var targets = batch.narrow(1, 1, train.SeqLength);

        var trainStep = new TrainStep(model, optimizer, train.GradClip);
        var faults = new FaultInjector(job.Faults, job.OutputDir, logger);
        var windowStart = time.GetTimestamp();
        long windowTokens = 0;
        for (var step = startStep + 1; step <= totalSteps; step++)
        {
            // The batch is drawn even when skipped, so skipping never shifts the data of later steps.
            sampler.Fill(step - 1, batchIds);
            faults.BeforeStep(step);
            if (job.IsSkipped(step))
            {
                Log.BatchSkipped(logger, step);
            }
            else
            {
                var lr = schedule.At(step);
                (lastLoss, var gradNorm) = trainStep.Run(inputs, targets, faults.LossScale(step), lr);
                windowTokens += tokensPerStep;
                if (step % train.LogInterval == 0 || step == totalSteps)
                {
                    var seconds = time.GetElapsedTime(windowStart).TotalSeconds;
                    var tokensPerSecond = seconds > 0 ? windowTokens / seconds : 0;
                    metrics.Write(step, step * tokensPerStep, lastLoss, lr, gradNorm, tokensPerSecond, time.GetUtcNow());
                    Log.StepLogged(logger, step, lastLoss, lr, gradNorm, tokensPerSecond);
                    windowStart = time.GetTimestamp();
                    windowTokens = 0;
                }
            }

            if (step % train.CheckpointInterval == 0 || step == totalSteps)
            {
                lastCheckpoint = SaveCheckpoint(model, optimizer, step, lastLoss, totalSteps, jobHash);
                lastCheckpointStep = step;
            }

            if (stop.Requested is { } signal && step < totalSteps)
            {
                Log.StopRequested(logger, signal, step);
                if (lastCheckpointStep != step)
                {
                    SaveCheckpoint(model, optimizer, step, lastLoss, totalSteps, jobHash);
                }

                return ExitStopped;
            }
        }

        WriteDone(totalSteps, tokensPerStep, lastLoss, lastCheckpoint!);
        Log.TrainingCompleted(logger, totalSteps, lastLoss);
        return 0;
    }

    private LlamaForCausalLM CreateModel(out long startStep, out TrainerState? resumeState)
    {
        startStep = 0;
        resumeState = null;
        if (job.ResumeFrom is { } resume)
        {
            resumeState = Checkpoints.ReadState(resume);
            var model = LlamaForCausalLM.Load(resume);
            if (!SameShape(model, job))
            {
                model.Dispose();
                throw new InvalidDataException($"{resume}: the checkpoint's model shape differs from the job's");
            }

            startStep = resumeState.Step;
            Log.ResumedFrom(logger, resume, startStep);
            return model;
        }

        var fresh = LlamaForCausalLM.CreateRandom(job.Model, job.Train.Seed);
        if (job.InitFrom is { } init)
        {
            try
            {
                fresh.LoadWeights(Path.Combine(init, LlamaForCausalLM.ModelFileName));
            }
            catch
            {
                fresh.Dispose();
                throw;
            }

            Log.InitialisedFrom(logger, init);
        }

        return fresh;
    }

    private static bool SameShape(LlamaForCausalLM model, TrainJob job)
    {
        var a = model.Config;
        var b = job.Model;
        return a.VocabSize == b.VocabSize && a.HiddenSize == b.HiddenSize && a.IntermediateSize == b.IntermediateSize
            && a.NumHiddenLayers == b.NumHiddenLayers && a.NumAttentionHeads == b.NumAttentionHeads
            && a.KeyValueHeads == b.KeyValueHeads && a.TieWordEmbeddings == b.TieWordEmbeddings;
    }

    private string SaveCheckpoint(LlamaForCausalLM model, AdamW optimizer, long step, float loss, long totalSteps, string jobHash)
    {
        var folder = Checkpoints.Save(job.OutputDir, model, optimizer, new TrainerState
        {
            Step = step,
            Tokens = step * job.Train.MicroBatchSize * job.Train.SeqLength,
            Loss = loss,
            TotalSteps = totalSteps,
            Seed = job.Train.Seed,
            JobHash = jobHash,
        });
        Log.CheckpointSaved(logger, folder);
        return Path.GetFullPath(folder);
    }

    private void WriteDone(long step, long tokensPerStep, float loss, string checkpoint) =>
        JobJson.WriteAtomically(Path.Combine(job.OutputDir, "DONE.json"), new DoneMarker
        {
            Step = step,
            Tokens = step * tokensPerStep,
            Loss = loss,
            Checkpoint = checkpoint,
        });

    /// <summary>SIGTERM/SIGINT: cancel the default action (termination) and let the loop stop after its step.</summary>
    private sealed class StopSignal : IDisposable
    {
        private readonly PosixSignalRegistration _term;
        private readonly PosixSignalRegistration _interrupt;
        private volatile string? _requested;

        public StopSignal()
        {
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        }

        public string? Requested => _requested;

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            _requested = context.Signal.ToString();
        }

        public void Dispose()
        {
            _term.Dispose();
            _interrupt.Dispose();
        }
    }

    /// <summary>metrics.jsonl: one object per logged step, appended and flushed per line.</summary>
    private sealed class MetricsWriter : IDisposable
    {
        private readonly FileStream _stream;
        private readonly ArrayBufferWriter<byte> _buffer = new(256);
        private readonly Utf8JsonWriter _json;

        public MetricsWriter(string path)
        {
            _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            _json = new Utf8JsonWriter(_buffer);
        }

        public void Write(long step, long tokens, float loss, double lr, double gradNorm, double tokensPerSecond, DateTimeOffset now)
        {
            _buffer.ResetWrittenCount();
            _json.Reset(_buffer);
            _json.WriteStartObject();
            _json.WriteNumber("step", step);
            _json.WriteNumber("tokens", tokens);
            WriteFinite("loss", loss);
            WriteFinite("lr", lr);
            WriteFinite("grad_norm", gradNorm);
            _json.WriteNumber("tokens_per_second", Math.Round(tokensPerSecond, 1));
            _json.WriteString("time", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            _json.WriteEndObject();
            _json.Flush();
            _stream.Write(_buffer.WrittenSpan);
            _stream.WriteByte((byte)'\n');
            _stream.Flush();
        }

        // JSON has no NaN/Infinity: a diverged step is written as null so the line stays parseable.
        private void WriteFinite(string name, double value)
        {
            if (double.IsFinite(value))
            {
                _json.WriteNumber(name, value);
            }
            else
            {
                _json.WriteNull(name);
            }
        }

        private void WriteFinite(string name, float value)
        {
            if (float.IsFinite(value))
            {
                _json.WriteNumber(name, value);
            }
            else
            {
                _json.WriteNull(name);
            }
        }

        public void Dispose()
        {
            _json.Dispose();
            _stream.Dispose();
        }
    }
}
