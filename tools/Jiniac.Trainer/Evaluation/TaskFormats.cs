using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Jiniac.Trainer.Evaluation;

/// <summary>One document of a task: the prompt text (doc_to_text), the target (doc_to_target) and, for multiple choice, the choices.</summary>
public sealed record TaskDocument(string Id, string Text, string Target, IReadOnlyList<string> Choices, int Gold, IReadOnlyList<string> Answers);

/// <summary>
/// The JGLUE formats of reference/eval-formats.md with the prompts of the Japanese lm-evaluation-harness
/// (Stability-AI lm-evaluation-harness, jp-stable): jcommonsenseqa-1.1-0.1, jnli-1.1-0.2 and jsquad-1.1-0.1.
/// Their continuations carry no target delimiter (<c>rf.loglikelihood(ctx, choice)</c>) and the few-shot
/// context is DESCRIPTION + shots joined by "\n\n" + "\n\n" + the document.
/// </summary>
public static class TaskFormats
{
    public const string JCommonsenseQA = "jcommonsenseqa";
    public const string Jnli = "jnli";
    public const string JSquad = "jsquad";
    public const string FewshotSeparator = "\n\n";

    public static readonly IReadOnlyList<string> JnliChoices = ["entailment", "contradiction", "neutral"];

    public static bool IsKnown(string format) => format is JCommonsenseQA or Jnli or JSquad;

    public static bool IsGenerative(string format) => format == JSquad;

    public static string Description(string format) => format switch
    {
        JCommonsenseQA => "[問題]に対する[答え]を[選択肢]の中から選んでください。\n\n",
        Jnli => "前提と仮説の関係をentailment、contradiction、neutralの中から回答してください。\n\n"
            + "制約:\n"
            + "- 前提から仮説が、論理的知識や常識的知識を用いて導出可能である場合はentailmentと出力\n"
            + "- 前提と仮説が両立しえない場合はcontradictionと出力\n"
            + "- そのいずれでもない場合はneutralと出力\n\n",
        JSquad => "[題名]と[問題]から[質問]に対する[答え]を抜き出しなさい\n\n",
        _ => throw new InvalidDataException($"unknown task format '{format}' (jcommonsenseqa, jnli or jsquad)"),
    };

    /// <summary>description + shots (text + target) + the document's text.</summary>
    public static string FewshotContext(string format, IReadOnlyList<TaskDocument> shots, TaskDocument doc)
    {
        var builder = new StringBuilder(Description(format));
        foreach (var shot in shots)
        {
            builder.Append(shot.Text).Append(shot.Target).Append(FewshotSeparator);
        }

        return builder.Append(doc.Text).ToString();
    }

    public static List<TaskDocument> Load(string format, string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: task file not found");
        }

        return format switch
        {
            JCommonsenseQA => LoadLines(path, ReadJCommonsenseQA),
            Jnli => LoadLines(path, ReadJnli),
            JSquad => LoadSquad(path),
            _ => throw new InvalidDataException($"{path}: unknown task format '{format}' (jcommonsenseqa, jnli or jsquad)"),
        };
    }

    private static List<TaskDocument> LoadLines(string path, Func<JsonElement, int, TaskDocument> read)
    {
        var docs = new List<TaskDocument>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(text);
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException("not a JSON object");
                }

                docs.Add(read(json.RootElement, docs.Count));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}:{line}: {e.Message}", e);
            }
        }

        return docs.Count > 0 ? docs : throw new InvalidDataException($"{path}: no documents");
    }

    private static TaskDocument ReadJCommonsenseQA(JsonElement o, int index)
    {
        var question = RequiredString(o, "question");
        var choices = new List<string>(5);
        for (var i = 0; o.TryGetProperty("choice" + i.ToString(CultureInfo.InvariantCulture), out var c); i++)
        {
            choices.Add(c.GetString() ?? throw new InvalidDataException($"choice{i} is null"));
        }

        if (choices.Count < 2)
        {
            throw new InvalidDataException("needs at least choice0 and choice1");
        }

        var label = o.TryGetProperty("label", out var l) ? l.GetInt32() : throw new InvalidDataException("missing field 'label'");
        if (label < 0 || label >= choices.Count)
        {
            throw new InvalidDataException($"label {label} is not one of the {choices.Count} choices");
        }

        var id = o.TryGetProperty("q_id", out var q) ? q.ToString() : index.ToString(CultureInfo.InvariantCulture);
        var text = $"[問題]:{question}\n[選択肢]:[{string.Join(", ", choices)}]\n[答え]:";
        return new TaskDocument(id, text, choices[label], choices, label, []);
    }

    private static TaskDocument ReadJnli(JsonElement o, int index)
    {
        var premise = RequiredString(o, "sentence1");
        var hypothesis = RequiredString(o, "sentence2");
        if (!o.TryGetProperty("label", out var l))
        {
            throw new InvalidDataException("missing field 'label'");
        }

        // JGLUE's files spell the label; HF datasets give its class index.
        var gold = l.ValueKind == JsonValueKind.Number ? l.GetInt32() : IndexOf(JnliChoices, l.GetString());
        if (gold < 0 || gold >= JnliChoices.Count)
        {
            throw new InvalidDataException($"label {l} is not entailment, contradiction or neutral");
        }

        var id = o.TryGetProperty("sentence_pair_id", out var p) ? p.ToString() : index.ToString(CultureInfo.InvariantCulture);
        var text = $"前提:{premise}\n仮説:{hypothesis}\n関係:";
        return new TaskDocument(id, text, JnliChoices[gold], JnliChoices, gold, []);
    }

    /// <summary>SQuAD 1.1: data[].paragraphs[].{context, qas[].{id, question, answers[].{text, answer_start}}}; the title is data[].title.</summary>
    private static List<TaskDocument> LoadSquad(string path)
    {
        using var json = ParseFile(path);
        if (!json.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{path}: no \"data\" array (SQuAD 1.1 JSON expected)");
        }

        var docs = new List<TaskDocument>();
        var a = 0;
        foreach (var article in data.EnumerateArray())
        {
            var title = article.TryGetProperty("title", out var t) ? t.GetString() ?? "" : "";
            if (!article.TryGetProperty("paragraphs", out var paragraphs))
            {
                throw new InvalidDataException($"{path}: data[{a}] has no \"paragraphs\"");
            }

            var p = 0;
            foreach (var paragraph in paragraphs.EnumerateArray())
            {
                var where = $"{path}: data[{a}].paragraphs[{p}]";
                var context = paragraph.TryGetProperty("context", out var c) ? c.GetString() ?? "" : throw new InvalidDataException($"{where} has no \"context\"");
                // JGLUE's JSQuAD context is "title [SEP] text"; the prompt shows the text only, as the harness does.
                var sep = context.LastIndexOf("[SEP]", StringComparison.Ordinal);
                var body = sep >= 0 ? context[(sep + "[SEP]".Length)..].Trim() : context;
                if (!paragraph.TryGetProperty("qas", out var qas))
                {
                    throw new InvalidDataException($"{where} has no \"qas\"");
                }

                foreach (var qa in qas.EnumerateArray())
                {
                    var id = qa.TryGetProperty("id", out var i) ? i.ToString() : docs.Count.ToString(CultureInfo.InvariantCulture);
                    var question = qa.TryGetProperty("question", out var q) ? q.GetString() ?? "" : throw new InvalidDataException($"{where}: question {id} has no \"question\"");
                    var answers = new List<string>();
                    if (qa.TryGetProperty("answers", out var ans))
                    {
                        foreach (var answer in ans.EnumerateArray())
                        {
                            answers.Add(answer.GetProperty("text").GetString() ?? "");
                        }
                    }

                    if (answers.Count == 0)
                    {
                        throw new InvalidDataException($"{where}: question {id} has no answers");
                    }

                    var text = $"[題名]:{title}\n[問題]:{body}\n[質問]:{question}\n[答え]:";
                    docs.Add(new TaskDocument(id, text, answers[0], [], -1, answers));
                }

                p++;
            }

            a++;
        }

        return docs.Count > 0 ? docs : throw new InvalidDataException($"{path}: no questions");
    }

    private static JsonDocument ParseFile(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static string RequiredString(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidDataException($"missing string field '{name}'");

    private static int IndexOf(IReadOnlyList<string> list, string? value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }
}
