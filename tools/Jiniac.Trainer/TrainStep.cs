using System.Diagnostics;
using Jiniac.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Jiniac.Trainer;

/// <summary>Wall time of a step's phases, summed over the steps timed (the bench verb's profile).</summary>
public sealed class StepTimes
{
    public double Forward { get; set; }
    public double Backward { get; set; }
    public double Clip { get; set; }
    public double Optimizer { get; set; }
    public int Steps { get; set; }

    public double Total => Forward + Backward + Clip + Optimizer;
}

/// <summary>
/// One optimiser step of the reference trainer (forward, backward, clipping, AdamW), the code both the
/// train verb and the bench verb run, so the benchmark measures what training does.
/// </summary>
public sealed class TrainStep(LlamaForCausalLM model, AdamW optimizer, double gradClip)
{
    private readonly Parameter[] _parameters = ParametersOf(model);

    /// <summary>Runs the step on the batch and returns the (scaled) loss and the gradient norm before clipping.</summary>
    public (float Loss, double GradNorm) Run(Tensor inputs, Tensor targets, double lossScale, double lr, StepTimes? times = null)
    {
        using var scope = NewDisposeScope();
        var start = Stopwatch.GetTimestamp();
        var loss = model.Loss(inputs, targets);
        if (lossScale != 1.0)
        {
            // A bad batch: the loss (and so every gradient) jumps, or turns NaN and poisons the weights.
            loss = loss.mul(lossScale);
        }

        var forwardDone = Stopwatch.GetTimestamp();
        loss.backward();
        var backwardDone = Stopwatch.GetTimestamp();
        var gradNorm = nn.utils.clip_grad_norm_(_parameters, gradClip > 0 ? gradClip : double.MaxValue);
        var clipDone = Stopwatch.GetTimestamp();
        optimizer.Update(lr);
        var value = loss.item<float>();

        // Gradients set to none, as PyTorch's zero_grad() does by default: the next backward writes
        // fresh gradients instead of adding into zeroed ones, saving a memset and a read of every
        // gradient per step; the sums are the same (0 + g = g exactly).
        foreach (var p in _parameters)
        {
            p.grad = null;
        }

        if (times is not null)
        {
            times.Forward += Stopwatch.GetElapsedTime(start, forwardDone).TotalSeconds;
            times.Backward += Stopwatch.GetElapsedTime(forwardDone, backwardDone).TotalSeconds;
            times.Clip += Stopwatch.GetElapsedTime(backwardDone, clipDone).TotalSeconds;
            times.Optimizer += Stopwatch.GetElapsedTime(clipDone).TotalSeconds;
            times.Steps++;
        }

        return (value, gradNorm);
    }

    private static Parameter[] ParametersOf(LlamaForCausalLM model)
    {
        var result = new Parameter[model.Parameters.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = model.Parameters[i].Tensor;
        }

        return result;
    }
}
