using Jiniac.Trainer;
using Microsoft.Extensions.Logging;

// jiniac-trainer train --job JOB.json | evaluate --job EVAL.json  (docs/trainer-contract.md) | bench [options] (docs/benchmarks.md)
// Exit codes: 0 done, 75 stopped by SIGTERM/SIGINT after a checkpoint, 2 bad arguments or job, 1 failure.
using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    o.UseUtcTimestamp = true;
}));
var logger = loggerFactory.CreateLogger("jiniac-trainer");

NativeHeap.KeepFreedMemory();
if (args.Length > 0 && args[0] == "bench")
{
    BenchCommand bench;
    try
    {
        bench = BenchCommand.Parse(args.AsSpan(1));
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        Console.Error.WriteLine("usage: " + BenchCommand.Usage);
        return 2;
    }

    return bench.Run(Console.Out);
}

if (args.Length != 3 || args[1] != "--job" || args[0] is not ("train" or "evaluate"))
{
    Console.Error.WriteLine("usage: jiniac-trainer train --job JOB.json | jiniac-trainer evaluate --job EVAL.json | " + BenchCommand.Usage);
    return 2;
}

try
{
    if (args[0] == "train")
    {
        TrainJob job;
        try
        {
            job = JobJson.Load<TrainJob>(args[2]);
            job.Validate();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            Log.InvalidJob(logger, e.Message);
            return 2;
        }

        return new TrainCommand(job, logger, TimeProvider.System).Run();
    }

    EvalJob evalJob;
    try
    {
        evalJob = JobJson.Load<EvalJob>(args[2]);
    }
    catch (Exception e) when (e is InvalidDataException or IOException)
    {
        Log.InvalidJob(logger, e.Message);
        return 2;
    }

    return new EvaluateCommand(evalJob, logger).Run();
}
catch (Exception e)
{
    Log.Failed(logger, e);
    return 1;
}
