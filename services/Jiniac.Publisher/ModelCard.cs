using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Jiniac.Contracts;

namespace Jiniac.Publisher;

/// <summary>The architecture facts a model card states, read from the checkpoint's config.json.</summary>
internal sealed record ModelFacts(int VocabSize, int HiddenSize, int Layers, int Heads, int KvHeads, int ContextLength, int BosTokenId, int EosTokenId)
{
    public string DType { get; init; } = "float32";
    public int Shards { get; init; } = 1;
    public long Parameters { get; init; }
    public bool TiedEmbeddings { get; init; }
}

/// <summary>
/// README.md of a published revision: YAML front matter the Hub reads (language, license,
/// library_name, tags, model-index with one result per held-out domain and per evaluated suite task) and a body for people.
/// Nothing in it depends on the clock, so the same checkpoint always yields the same revision id.
/// </summary>
internal static class ModelCard
{
    private static readonly JsonSerializerOptions Quoting = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Render(PublishModel message, RepoId repo, ModelFacts model)
    {
        var card = new StringBuilder();
        card.Append("---\n");
        if (message.Target.Languages.Count > 0)
        {
            card.Append("language:\n");
            foreach (var language in message.Target.Languages)
            {
                card.Append("- ").Append(Quote(language)).Append('\n');
            }
        }

        card.Append("license: ").Append(Quote(message.Target.License)).Append('\n');
        card.Append("library_name: transformers\n");
        card.Append("pipeline_tag: text-generation\n");
        card.Append("tags:\n- jiniac\n- llama\n- causal-lm\n");
        card.Append("model-index:\n");
        card.Append("- name: ").Append(Quote(repo.ToString())).Append('\n');
        card.Append("  results:");
        var named = NamedResults(message);
        if (message.Evaluation.Count == 0 && named.Count == 0)
        {
            card.Append(" []");
        }

        card.Append('\n');
        foreach (var result in message.Evaluation)
        {
            card.Append("  - task:\n");
            card.Append("      type: text-generation\n");
            card.Append("      name: Language modelling\n");
            card.Append("    dataset:\n");
            card.Append("      type: ").Append(Quote(result.Domain)).Append('\n');
            card.Append("      name: ").Append(Quote($"{result.Domain} (held-out)")).Append('\n');
            card.Append("      split: eval\n");
            card.Append("    metrics:\n");
            card.Append("    - type: perplexity\n");
            card.Append("      name: Perplexity\n");
            card.Append("      value: ").Append(YamlNumber(result.Perplexity)).Append('\n');
            card.Append("    - type: bits_per_byte\n");
            card.Append("      name: Bits per byte\n");
            card.Append("      value: ").Append(YamlNumber(result.BitsPerByte)).Append('\n');
        }

        foreach (var (group, metrics) in named)
        {
            card.Append("  - task:\n");
            card.Append("      type: text-generation\n");
            card.Append("      name: ").Append(Quote($"Evaluation {group}")).Append('\n');
            card.Append("    dataset:\n");
            card.Append("      type: ").Append(Quote(group[(group.LastIndexOf('/') + 1)..])).Append('\n');
            card.Append("      name: ").Append(Quote(group)).Append('\n');
            card.Append("    metrics:\n");
            foreach (var metric in metrics)
            {
                card.Append("    - type: ").Append(Quote(metric.Name[(metric.Name.LastIndexOf('/') + 1)..])).Append('\n');
                card.Append("      name: ").Append(Quote(metric.Name)).Append('\n');
                card.Append("      value: ").Append(YamlNumber(metric.Value)).Append('\n');
            }
        }

        card.Append("---\n\n");
        card.Append("# ").Append(repo.ToString()).Append("\n\n");
        var stageIndex = IndexOfStage(message.Curriculum, message.Stage);
        card.Append("A LLaMA-architecture causal language model (`LlamaForCausalLM`) trained from scratch with the Jiniac Platform: run `")
            .Append(message.RunId).Append("`, checkpoint at step ").Append(Number(message.Step)).Append(" of stage `").Append(message.Stage).Append('`');
        if (stageIndex >= 0)
        {
            card.Append(" (stage ").Append(Number(stageIndex + 1)).Append(" of the curriculum so far)");
        }

        card.Append(". Weights are ").Append(model.DType).Append(" safetensors")
            .Append(model.Shards > 1 ? $" in {Number(model.Shards)} shards with `model.safetensors.index.json`" : "")
            .Append("; the tokenizer is a Hugging Face `tokenizer.json`.\n\n");
        card.Append("| Architecture | |\n| --- | --- |\n");
        card.Append("| Layers | ").Append(Number(model.Layers)).Append(" |\n");
        card.Append("| Hidden size | ").Append(Number(model.HiddenSize)).Append(" |\n");
        card.Append("| Attention heads (key/value) | ").Append(Number(model.Heads)).Append(" (").Append(Number(model.KvHeads)).Append(") |\n");
        card.Append("| Vocabulary | ").Append(Number(model.VocabSize)).Append(" |\n");
        card.Append("| Context length | ").Append(Number(model.ContextLength)).Append(" |\n");
        if (model.Parameters > 0)
        {
            card.Append("| Parameters | ").Append(Number(model.Parameters)).Append(" |\n");
        }

        card.Append("| Tied input/output embeddings | ").Append(model.TiedEmbeddings ? "yes" : "no").Append(" |\n\n");

        card.Append("## Curriculum so far\n\n");
        card.Append("| Stage | Sources | Tokens | Steps | Final loss |\n| --- | --- | ---: | ---: | ---: |\n");
        foreach (var entry in message.Curriculum)
        {
            card.Append("| ").Append(Cell(entry.Stage))
                .Append(" | ").Append(Cell(string.Join(", ", entry.Sources)))
                .Append(" | ").Append(Number(entry.Tokens))
                .Append(" | ").Append(Number(entry.Steps))
                .Append(" | ").Append(entry.FinalLoss is { } loss ? Fixed(loss, 4) : "—")
                .Append(" |\n");
        }

        var trained = message.Curriculum.Sum(e => e.Tokens);
        card.Append("\nTraining tokens so far: ").Append(Number(trained)).Append(".\n");
        if (message.Curriculum.Any(e => e.RecordsIn is not null))
        {
            card.Append("\n## Training data\n\n");
            card.Append("Per stage, as ingested: records read, kept after exact de-duplication and quality filters, dropped as duplicates, quarantined as malformed; and the tokens of the tokenized data the stage sampled from.\n\n");
            card.Append("| Stage | Records read | Kept | Duplicates | Quarantined | Data tokens |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
            foreach (var entry in message.Curriculum)
            {
                card.Append("| ").Append(Cell(entry.Stage))
                    .Append(" | ").Append(Optional(entry.RecordsIn))
                    .Append(" | ").Append(Optional(entry.RecordsOut))
                    .Append(" | ").Append(Optional(entry.Duplicates))
                    .Append(" | ").Append(Optional(entry.Quarantined))
                    .Append(" | ").Append(Optional(entry.DataTokens))
                    .Append(" |\n");
            }
        }

        card.Append("\n## Evaluation\n\n");
        if (message.Evaluation.Count == 0)
        {
            card.Append("This checkpoint has not been evaluated.\n");
        }
        else
        {
            card.Append("Held-out data of each domain, scored in non-overlapping windows of the context length. ")
                .Append("Loss is the mean negative log-likelihood per token in nats; bits per byte compares across tokenizers.\n\n");
            card.Append("| Domain | Tokens | Loss | Perplexity | Bits/byte |\n| --- | ---: | ---: | ---: | ---: |\n");
            foreach (var result in message.Evaluation)
            {
                card.Append("| ").Append(Cell(result.Domain))
                    .Append(" | ").Append(Number(result.Tokens))
                    .Append(" | ").Append(Fixed(result.Loss, 4))
                    .Append(" | ").Append(Fixed(result.Perplexity, 2))
                    .Append(" | ").Append(Fixed(result.BitsPerByte, 4))
                    .Append(" |\n");
            }
        }

        card.Append("\n## Intended use and limitations\n\n")
            .Append("A research checkpoint of a curriculum pretraining run: for studying pretraining, continued training and evaluation, not for deployment. ")
            .Append("It is a base model (no instruction tuning, no safety tuning): it continues text, it does not follow instructions, and it will reproduce biases and errors of its training data. ")
            .Append("Its knowledge is limited to the sources listed above; scores are on the held-out split of those same domains, so they say little about other text. ")
            .Append("Check the license of each source before using the model's output.\n");
        card.Append("\n## Usage\n\n```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n")
            .Append("tokenizer = AutoTokenizer.from_pretrained(\"").Append(repo.ToString()).Append("\")\n")
            .Append("model = AutoModelForCausalLM.from_pretrained(\"").Append(repo.ToString()).Append("\")\n");
        if (message.Target.StageBranches && !string.Equals(message.Stage, "main", StringComparison.OrdinalIgnoreCase))
        {
            card.Append("# the latest checkpoint of this stage: its branch\n")
                .Append("model = AutoModelForCausalLM.from_pretrained(\"").Append(repo.ToString()).Append("\", revision=\"").Append(message.Stage).Append("\")\n");
        }

        card.Append("```\n");
        return card.ToString();
    }

    /// <summary>
    /// The final evaluation's named metrics (SUITE/TASK/METRIC, SUITE/METRIC) as model-index results, one per
    /// SUITE/TASK in first-seen order. The held-out domains' perplexity/D, bits_per_byte/D and loss/D are left out
    /// where the domain has its own result above: the Hub would show them twice.
    /// </summary>
    private static List<(string Group, List<EvaluationMetric> Metrics)> NamedResults(PublishModel message)
    {
        var groups = new List<(string Group, List<EvaluationMetric> Metrics)>();
        foreach (var metric in message.Metrics)
        {
            var slash = metric.Name.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && metric.Name[..slash] is "perplexity" or "bits_per_byte" or "loss"
                && message.Evaluation.Any(e => string.Equals(e.Domain, metric.Name[(slash + 1)..], StringComparison.Ordinal)))
            {
                continue;
            }

            var last = metric.Name.LastIndexOf('/');
            var group = last > 0 ? metric.Name[..last] : "metrics";
            var at = groups.FindIndex(g => string.Equals(g.Group, group, StringComparison.Ordinal));
            if (at < 0)
            {
                groups.Add((group, []));
                at = groups.Count - 1;
            }

            groups[at].Metrics.Add(metric);
        }

        return groups;
    }

    private static int IndexOfStage(IReadOnlyList<CurriculumEntry> curriculum, string stage)
    {
        for (var i = 0; i < curriculum.Count; i++)
        {
            if (string.Equals(curriculum[i].Stage, stage, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A YAML double-quoted scalar: JSON string syntax is valid YAML.</summary>
    private static string Quote(string value) => JsonSerializer.Serialize(value, Quoting);

    private static string YamlNumber(double value) =>
        double.IsNaN(value) ? ".nan"
        : double.IsPositiveInfinity(value) ? ".inf"
        : double.IsNegativeInfinity(value) ? "-.inf"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static string Optional(long? value) => value is { } known ? Number(known) : "—";

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Fixed(double value, int decimals) =>
        double.IsFinite(value) ? value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
}
