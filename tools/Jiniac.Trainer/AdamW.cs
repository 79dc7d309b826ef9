using Jiniac.Formats.Safetensors;
using Jiniac.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Jiniac.Trainer;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter) exactly as torch.optim.AdamW computes it (single-tensor path,
/// no amsgrad): decoupled decay p ← p·(1 − lr·wd), then p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
/// Weight decay applies to matrices (embeddings, projections, lm_head), not to RMSNorm gains.
/// The moments are plain tensors so a checkpoint stores them as exp_avg.NAME / exp_avg_sq.NAME.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<NamedParameter> _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    private readonly double _weightDecay;

    public AdamW(IReadOnlyList<NamedParameter> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        _parameters = parameters;
        _beta1 = beta1;
        _beta2 = beta2;
        _eps = eps;
        _weightDecay = weightDecay;
        _expAvg = new Tensor[parameters.Count];
        _expAvgSq = new Tensor[parameters.Count];
        for (var i = 0; i < parameters.Count; i++)
        {
            _expAvg[i] = zeros_like(parameters[i].Tensor).DetachFromDisposeScope();
            _expAvgSq[i] = zeros_like(parameters[i].Tensor).DetachFromDisposeScope();
        }
    }

    /// <summary>Updates taken so far (t of the bias corrections; skipped batches do not count).</summary>
    public long Step { get; private set; }

    /// <summary>Applies one update with the gradients now held by the parameters.</summary>
    public void Update(double lr)
    {
        Step++;
        var bias1 = 1 - Math.Pow(_beta1, Step);
        var bias2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, Step));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i].Tensor;
            var g = p.grad ?? throw new InvalidOperationException($"parameter '{_parameters[i].Name}' has no gradient");
            if (_weightDecay != 0 && !_parameters[i].IsNorm)
            {
                p.mul_(1 - (lr * _weightDecay));
            }

            // torch's _single_tensor_adamw: exp_avg.lerp_(grad, 1 − β₁), one pass instead of mul_ + add_.
            _expAvg[i].lerp_(g, 1 - _beta1);
            _expAvgSq[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            var denom = _expAvgSq[i].sqrt().div_(bias2Sqrt).add_(_eps);
            p.addcdiv_(_expAvg[i], denom, value: -lr / bias1);
        }
    }

    public void Save(string path)
    {
        var named = new List<KeyValuePair<string, Tensor>>(_parameters.Count * 2);
        for (var i = 0; i < _parameters.Count; i++)
        {
            named.Add(new("exp_avg." + _parameters[i].Name, _expAvg[i]));
            named.Add(new("exp_avg_sq." + _parameters[i].Name, _expAvgSq[i]));
        }

        TensorIO.WriteFloat32(path, named, new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public void Load(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        if (!reader.Metadata.TryGetValue("step", out var stepText) || !long.TryParse(stepText, System.Globalization.CultureInfo.InvariantCulture, out var step) || step < 0)
        {
            throw new InvalidDataException($"{path}: __metadata__ lacks the optimizer step");
        }

        for (var i = 0; i < _parameters.Count; i++)
        {
            TensorIO.ReadInto(reader, "exp_avg." + _parameters[i].Name, _expAvg[i]);
            TensorIO.ReadInto(reader, "exp_avg_sq." + _parameters[i].Name, _expAvgSq[i]);
        }

        Step = step;
    }

    public void Dispose()
    {
        foreach (var t in _expAvg)
        {
            t.Dispose();
        }

        foreach (var t in _expAvgSq)
        {
            t.Dispose();
        }
    }
}
