using System.Runtime.InteropServices;
using Jiniac.Modeling;
using Jiniac.Text.Bpe;
using TorchSharp;
using static TorchSharp.torch;

namespace Jiniac.Trainer.Evaluation;

/// <summary>
/// Log-likelihoods and generations on one model as lm-evaluation-harness's HF model computes them and as
/// transformers' <c>generate</c> samples. Runs under no_grad; one sequence at a time (the sets are small).
/// </summary>
public sealed class ModelScorer(LlamaForCausalLM model, BpeTokenizer tokenizer)
{
    private readonly int _eot = tokenizer.EndOfDocumentId ?? 0;

    public int MaxLength => model.Config.MaxPositionEmbeddings;

    /// <summary>
    /// HFLM._encode_pair: trailing whitespace of the context moves to the continuation; the continuation's
    /// tokens are those of encode(context + continuation) after the first len(encode(context)). An empty
    /// context is the end-of-text token.
    /// </summary>
    public (int[] Context, int[] Continuation) EncodePair(string context, string continuation)
    {
        if (context.Length == 0)
        {
            return ([_eot], tokenizer.Encode(continuation));
        }

        var spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0)
        {
            continuation = context[^spaces..] + continuation;
            context = context[..^spaces];
        }

        var whole = tokenizer.Encode(context + continuation);
        var ctx = tokenizer.Encode(context);
        return (ctx, whole[Math.Min(ctx.Length, whole.Length)..]);
    }

    /// <summary>
    /// Sum of log p(continuation token | everything before it) and whether each was the argmax (is_greedy).
    /// The input is (context + continuation)[-(max_length + 1):][:-1], as the harness truncates it.
    /// </summary>
    public (double LogLikelihood, bool IsGreedy) LogLikelihood(string context, string continuation) => LogLikelihoods(context, [continuation])[0];

    /// <summary>
    /// <see cref="LogLikelihood"/> of each continuation of one context, in one forward pass: the rows are
    /// right-padded, and causal attention keeps the padding out of every scored position.
    /// </summary>
    public (double LogLikelihood, bool IsGreedy)[] LogLikelihoods(string context, IReadOnlyList<string> continuations)
    {
        var n = continuations.Count;
        var inputs = new long[n][];
        var targets = new int[n][];
        var width = 1;
        for (var i = 0; i < n; i++)
        {
            var (ctx, cont) = EncodePair(context, continuations[i]);
            var all = new long[ctx.Length + cont.Length];
            for (var j = 0; j < ctx.Length; j++)
            {
                all[j] = ctx[j];
            }

            for (var j = 0; j < cont.Length; j++)
            {
                all[ctx.Length + j] = cont[j];
            }

            var start = Math.Max(0, all.Length - (MaxLength + 1));
            inputs[i] = all.AsSpan(start, Math.Max(0, all.Length - start - 1)).ToArray();
            // Scored: the continuation's tokens that still have a position in the truncated input.
            targets[i] = cont[Math.Max(0, cont.Length - inputs[i].Length)..];
            width = Math.Max(width, inputs[i].Length);
        }

        var batch = new long[n * width];
        Array.Fill(batch, _eot);
        for (var i = 0; i < n; i++)
        {
            inputs[i].CopyTo(batch, i * width);
        }

        var results = new (double, bool)[n];
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logProbs = model.Forward(tensor(batch, [n, width])).log_softmax(-1).contiguous();
        var values = MemoryMarshal.Cast<byte, float>(logProbs.bytes);
        var vocab = model.Config.VocabSize;
        for (var i = 0; i < n; i++)
        {
            var count = targets[i].Length;
            double sum = 0;
            var greedy = true;
            for (var t = 0; t < count; t++)
            {
                var position = inputs[i].Length - count + t;
                var row = values.Slice(((i * width) + position) * vocab, vocab);
                var target = targets[i][t];
                sum += row[target];
                var argmax = 0;
                for (var v = 1; v < vocab; v++)
                {
                    if (row[v] > row[argmax])
                    {
                        argmax = v;
                    }
                }

                greedy &= argmax == target;
            }

            results[i] = (sum, greedy);
        }

        return results;
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> for at most <paramref name="maxNewTokens"/> tokens, stopping at the
    /// end-of-text token or once the decoded continuation contains a stop string (cut there). Greedy when
    /// <paramref name="random"/> is null; otherwise HF's sampling: repetition penalty, then temperature, then top-p.
    /// </summary>
    public (string Text, int[] Tokens) Generate(string prompt, int maxNewTokens, double repetitionPenalty, double temperature, double topP, SplitMix64? random, IReadOnlyList<string> stops)
    {
        var ids = new List<long>();
        foreach (var id in prompt.Length == 0 ? [_eot] : tokenizer.Encode(prompt))
        {
            ids.Add(id);
        }

        // Left-truncate so the prompt and the continuation fit the model's positions.
        var keep = Math.Max(1, MaxLength - maxNewTokens);
        if (ids.Count > keep)
        {
            ids.RemoveRange(0, ids.Count - keep);
        }

        var generated = new List<int>();
        var vocab = model.Config.VocabSize;
        var scores = new double[vocab];
        var text = "";
        for (var step = 0; step < maxNewTokens && ids.Count < MaxLength; step++)
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var input = tensor(ids.ToArray(), [1, ids.Count]);
                var last = model.Forward(input)[0, ids.Count - 1].contiguous();
                var row = MemoryMarshal.Cast<byte, float>(last.bytes);
                for (var v = 0; v < vocab; v++)
                {
                    scores[v] = row[v];
                }
            }

            var next = random is null
                ? Sampling.Greedy(scores, ids, repetitionPenalty)
                : Sampling.Sample(scores, ids, repetitionPenalty, temperature, topP, random);
            if (next == _eot)
            {
                break;
            }

            ids.Add(next);
            generated.Add(next);
            text = tokenizer.Decode(CollectionsMarshal.AsSpan(generated));
            var cut = FirstStop(text, stops);
            if (cut >= 0)
            {
                text = text[..cut];
                break;
            }
        }

        return (text, [.. generated]);
    }

    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        var first = -1;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        return first;
    }
}

/// <summary>The logits processors and warpers of transformers' generate, on one row of scores (in place).</summary>
public static class Sampling
{
    /// <summary>RepetitionPenaltyLogitsProcessor: every token already in the sequence has its score divided by the penalty when positive, multiplied when negative.</summary>
    public static void ApplyRepetitionPenalty(Span<double> scores, IReadOnlyList<long> sequence, double penalty)
    {
        if (penalty == 1.0)
        {
            return;
        }

        var done = new HashSet<long>();
        foreach (var id in sequence)
        {
            if (done.Add(id) && (ulong)id < (ulong)scores.Length)
            {
                var s = scores[(int)id];
                scores[(int)id] = s < 0 ? s * penalty : s / penalty;
            }
        }
    }

    public static int Greedy(double[] scores, IReadOnlyList<long> sequence, double penalty)
    {
        ApplyRepetitionPenalty(scores, sequence, penalty);
        var best = 0;
        for (var v = 1; v < scores.Length; v++)
        {
            if (scores[v] > scores[best])
            {
                best = v;
            }
        }

        return best;
    }

    /// <summary>
    /// Repetition penalty, TemperatureLogitsWarper (scores / T), TopPLogitsWarper (sorted ascending, tokens whose
    /// cumulative probability is ≤ 1 − top_p removed, at least one kept), softmax, one multinomial draw.
    /// </summary>
    public static int Sample(double[] scores, IReadOnlyList<long> sequence, double penalty, double temperature, double topP, SplitMix64 random)
    {
        ApplyRepetitionPenalty(scores, sequence, penalty);
        var n = scores.Length;
        for (var v = 0; v < n; v++)
        {
            scores[v] /= temperature;
        }

        var probs = Softmax(scores);
        if (topP < 1.0)
        {
            var order = new int[n];
            for (var v = 0; v < n; v++)
            {
                order[v] = v;
            }

            // Stable ascending sort, as torch.sort(descending=False) orders equal scores by index here.
            Array.Sort(order, (a, b) => scores[a] != scores[b] ? scores[a].CompareTo(scores[b]) : a.CompareTo(b));
            double cumulative = 0;
            for (var i = 0; i < n - 1; i++)
            {
                cumulative += probs[order[i]];
                if (cumulative <= 1 - topP)
                {
                    scores[order[i]] = double.NegativeInfinity;
                }
            }

            probs = Softmax(scores);
        }

        var u = random.NextDouble();
        double acc = 0;
        var last = 0;
        for (var v = 0; v < n; v++)
        {
            if (probs[v] <= 0)
            {
                continue;
            }

            last = v;
            acc += probs[v];
            if (u < acc)
            {
                return v;
            }
        }

        return last;
    }

    private static double[] Softmax(double[] scores)
    {
        var max = double.NegativeInfinity;
        foreach (var s in scores)
        {
            max = Math.Max(max, s);
        }

        var probs = new double[scores.Length];
        double sum = 0;
        for (var v = 0; v < scores.Length; v++)
        {
            probs[v] = double.IsNegativeInfinity(scores[v]) ? 0 : Math.Exp(scores[v] - max);
            sum += probs[v];
        }

        for (var v = 0; v < probs.Length; v++)
        {
            probs[v] /= sum;
        }

        return probs;
    }
}
