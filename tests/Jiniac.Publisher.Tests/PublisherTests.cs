using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Formats.HuggingFace;
using Jiniac.Formats.Safetensors;
using Jiniac.HubServer;
using Jiniac.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using YamlDotNet.Serialization;

namespace Jiniac.Publisher.Tests;

/// <summary>The publisher through a real host and bus, writing into a hub folder; every assertion reads the files back.</summary>
public sealed partial class PublisherTests : IAsyncLifetime
{
    private const string TokenizerKey = "tokenizers/run-1/tokenizer.json";
    private const string EndOfText = "<|endoftext|>";
    private readonly TempFolder _temp = new();
    private readonly CapturedLogs _logs = new();
    private ServiceHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ServiceHost.StartAsync(_temp.Path, new Dictionary<string, string?>(), b =>
        {
            b.AddPublisherService();
            b.Logging.AddProvider(_logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        }, typeof(ModelPublished), typeof(PublishFailed));
        // A BPE tokenizer.json whose added token 2 is the end-of-document token (and the model's eos).
        var tokenizer = $$$"""
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
               {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 2, "content": "{{{EndOfText}}}", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": null, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "vocab": {"<pad>": 0, "a": 1, "{{{EndOfText}}}": 2, "b": 3}, "merges": []}}
            """;
        await _host.Blobs.PutAsync(TokenizerKey, new MemoryStream(Encoding.UTF8.GetBytes(tokenizer)), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _temp.Dispose();
    }

    private string Hub => Path.Combine(_temp.Path, "my-hub");

    private const string TinyConfig = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 4, "hidden_size": 2, "intermediate_size": 4,
         "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1, "hidden_act": "silu", "max_position_embeddings": 64,
         "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false, "bos_token_id": 2, "eos_token_id": 2, "torch_dtype": "float32"}
        """;

    /// <summary>A complete checkpoint as the trainer contract describes it: HF Llama safetensors + config, marked COMPLETE.</summary>
    private string Checkpoint(long step, string config = TinyConfig, IReadOnlyDictionary<string, string>? metadata = null, Func<string, bool>? keep = null, bool withLmHead = false, string? extra = null)
    {
        var folder = Path.Combine(_temp.Path, "checkpoints", $"step_{step:D7}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var llama = LlamaConfig.FromJson(config);
        var tensors = LlamaLayout.Tensors(llama).Where(t => keep?.Invoke(t.Name) ?? true).ToList();
        if (withLmHead && llama.TieWordEmbeddings)
        {
            tensors.Add((LlamaLayout.LmHead, [llama.VocabSize, llama.HiddenSize]));
        }

        if (extra is not null)
        {
            tensors.Add((extra, [2]));
        }

        using (var writer = SafetensorsWriter.Create(Path.Combine(folder, "model.safetensors"), tensors.Select(t => new SafetensorsTensorSpec(t.Name, SafetensorsDType.F32, t.Shape)),
            metadata ?? new Dictionary<string, string> { ["format"] = "pt" }))
        {
            var offset = 0;
            foreach (var (name, shape) in tensors)
            {
                writer.WriteTensor(name, Values(step, offset, (int)shape.Aggregate(1L, (a, b) => a * b)));
                offset += 1000;
            }

            writer.Complete();
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), config);
        File.WriteAllText(Path.Combine(folder, "optimizer.safetensors"), "not published");
        File.WriteAllText(Path.Combine(folder, "COMPLETE"), "");
        return folder;
    }

    /// <summary>Distinct values per tensor and step, some of which bfloat16 must round.</summary>
    private static float[] Values(long step, int offset, int count) =>
        [.. Enumerable.Range(0, count).Select(i => step + ((offset + i) * 0.5f) + (i * 0.0001234f))];

    private PublishModel Command(long step, string? hub, string repo = "jiniac/tiny-llama") => new()
    {
        RunId = "run-1",
        Stage = "ja-web",
        Step = step,
        CheckpointFolder = Checkpoint(step),
        TokenizerBlob = TokenizerKey,
        Target = new PublishSpec { Repo = repo, HubDir = hub, License = "apache-2.0", Languages = ["en", "ja"] },
        Curriculum =
        [
            new CurriculumEntry
            {
                Stage = "en-web", Sources = ["web-a", "web-b"], Tokens = 1_000_000, Steps = 489, FinalLoss = 3.25,
                RecordsIn = 1000, RecordsOut = 990, Duplicates = 7, Quarantined = 3, DataTokens = 1_200_000,
            },
            new CurriculumEntry { Stage = "ja-web", Sources = ["ja-wiki"], Tokens = 500_000, Steps = 245, FinalLoss = 3.5 },
        ],
        Evaluation =
        [
            new DomainEvaluation { Domain = "moby", Tokens = 65536, TextBytes = 250_000, Loss = 3.1, Perplexity = 22.197951281441636, BitsPerByte = 1.1736 },
            new DomainEvaluation { Domain = "ja-law", Tokens = 30000, TextBytes = 90_000, Loss = 3.9, Perplexity = 49.40244910553017, BitsPerByte = 1.8752 },
        ],
    };

    private async Task<T> PublishAsync<T>(PublishModel command) where T : class
    {
        var before = _host.Events.All.Count;
        await _host.Sender.SendAsync(command, CancellationToken.None);
        await _host.Events.WaitForAsync<object>(_ => _host.Events.All.Count > before);
        return Assert.IsType<T>(_host.Events.All[before]);
    }

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone();

    [Fact]
    public async Task A_publish_writes_a_loadable_LlamaForCausalLM_revision_and_points_main_at_it()
    {
        var command = Command(40, hub: null);
        var published = await PublishAsync<ModelPublished>(command);

        var repoDir = Path.Combine(_host.Paths.Hub, "jiniac", "tiny-llama");
        Assert.True(published.Created);
        Assert.Equal("jiniac/tiny-llama", published.Repo);
        Assert.Equal(Path.Combine(repoDir, "revisions", published.Revision), published.Folder);
        Assert.Equal(
            [".gitattributes", "README.md", "config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(published.Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        Assert.Equal(File.ReadAllBytes(Path.Combine(command.CheckpointFolder, "model.safetensors")), File.ReadAllBytes(Path.Combine(published.Folder, "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(command.CheckpointFolder, "config.json")), File.ReadAllBytes(Path.Combine(published.Folder, "config.json")));
        await using (var blob = await _host.Blobs.OpenReadAsync(TokenizerKey, CancellationToken.None))
        {
            var expected = new MemoryStream();
            await blob.CopyToAsync(expected);
            Assert.Equal(expected.ToArray(), File.ReadAllBytes(Path.Combine(published.Folder, "tokenizer.json")));
        }

        // The bytes transformers' save_pretrained would write (indent 2, trailing newline): what revision ids hash.
        Assert.Equal("{\n  \"_from_model_config\": true,\n  \"bos_token_id\": 2,\n  \"eos_token_id\": 2\n}\n", File.ReadAllText(Path.Combine(published.Folder, "generation_config.json")));
        var generation = Json(Path.Combine(published.Folder, "generation_config.json"));
        Assert.Equal(2, generation.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(2, generation.GetProperty("eos_token_id").GetInt32());
        var tokenizerConfig = Json(Path.Combine(published.Folder, "tokenizer_config.json"));
        Assert.Equal("PreTrainedTokenizerFast", tokenizerConfig.GetProperty("tokenizer_class").GetString());
        Assert.Equal(EndOfText, tokenizerConfig.GetProperty("bos_token").GetString());
        Assert.Equal(EndOfText, tokenizerConfig.GetProperty("eos_token").GetString());
        Assert.Equal(EndOfText, tokenizerConfig.GetProperty("unk_token").GetString());
        Assert.Equal(64, tokenizerConfig.GetProperty("model_max_length").GetInt32());
        Assert.Equal(EndOfText, tokenizerConfig.GetProperty("added_tokens_decoder").GetProperty("2").GetProperty("content").GetString());
        Assert.True(tokenizerConfig.GetProperty("added_tokens_decoder").GetProperty("2").GetProperty("special").GetBoolean());
        var special = Json(Path.Combine(published.Folder, "special_tokens_map.json"));
        Assert.Equal((EndOfText, EndOfText, EndOfText), (special.GetProperty("bos_token").GetString(), special.GetProperty("eos_token").GetString(), special.GetProperty("unk_token").GetString()));

        // The revision is a commit of the local hub, made through the Hub protocol: main and the stage's branch name it.
        Assert.Matches("^[0-9a-f]{40}$", published.Revision);
        Assert.Equal(published.Revision, File.ReadAllText(Path.Combine(repoDir, "refs", "heads", "main")));
        Assert.Equal(published.Revision, File.ReadAllText(Path.Combine(repoDir, "refs", "heads", "ja-web")));
        var commits = File.ReadAllLines(Path.Combine(repoDir, "revisions.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["initial commit", "Publish ja-web step 40"], commits.Select(c => c.GetProperty("summary").GetString()));
        Assert.Equal(published.Revision, commits[1].GetProperty("commit").GetString());
        Assert.Equal(commits[0].GetProperty("commit").GetString(), commits[1].GetProperty("parent").GetString());
        var commit = Json(Path.Combine(repoDir, "commits", published.Revision + ".json"));
        Assert.Contains("Jiniac-Checkpoint: run-1/ja-web/40", commit.GetProperty("description").GetString());
        // The weights travelled by LFS and are stored once, by SHA-256.
        var weights = commit.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("path").GetString() == "model.safetensors");
        Assert.True(weights.GetProperty("lfs").GetBoolean());
        Assert.True(File.Exists(Path.Combine(repoDir, "lfs", "objects", weights.GetProperty("sha256").GetString()!)));
        Assert.Empty(Directory.GetDirectories(Path.Combine(repoDir, "revisions"), ".tmp-*"));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_host.Paths.Root, "publish", "jiniac", "tiny-llama")));
    }

    [Fact]
    public async Task The_model_card_front_matter_is_YAML_with_the_hub_keys_and_the_body_has_both_tables()
    {
        var published = await PublishAsync<ModelPublished>(Command(40, Hub));
        var card = File.ReadAllText(Path.Combine(published.Folder, "README.md"));

        Assert.StartsWith("---\n", card);
        var end = card.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var front = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(card[4..end]);
        Assert.Equal(["en", "ja"], ((List<object>)front["language"]).Cast<string>());
        Assert.Equal("apache-2.0", front["license"]);
        Assert.Equal("transformers", front["library_name"]);
        Assert.Contains("llama", ((List<object>)front["tags"]).Cast<string>());
        var index = Assert.Single((List<object>)front["model-index"]);
        var model = (Dictionary<object, object>)index;
        Assert.Equal("jiniac/tiny-llama", model["name"]);
        var results = ((List<object>)model["results"]).Cast<Dictionary<object, object>>().ToList();
        Assert.Equal(2, results.Count);
        var moby = results[0];
        Assert.Equal("moby", ((Dictionary<object, object>)moby["dataset"])["type"]);
        var metrics = ((List<object>)moby["metrics"]).Cast<Dictionary<object, object>>().ToList();
        Assert.Equal(["perplexity", "bits_per_byte"], metrics.Select(m => (string)m["type"]));
        Assert.Equal(22.197951281441636, double.Parse((string)metrics[0]["value"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1.1736, double.Parse((string)metrics[1]["value"], System.Globalization.CultureInfo.InvariantCulture));

        var body = card[(end + 5)..];
        Assert.Contains("| en-web | web-a, web-b | 1,000,000 | 489 | 3.2500 |", body);
        Assert.Contains("| ja-web | ja-wiki | 500,000 | 245 | 3.5000 |", body);
        Assert.Contains("| moby | 65,536 | 3.1000 | 22.20 | 1.1736 |", body);
        Assert.Contains("| ja-law | 30,000 | 3.9000 | 49.40 | 1.8752 |", body);
        Assert.Contains("run `run-1`", body);
        Assert.Contains("from_pretrained(\"jiniac/tiny-llama\", revision=\"ja-web\")", body);
        Assert.Contains("Training tokens so far: 1,500,000.", body);
        Assert.Contains("## Intended use and limitations", body);
        Assert.Contains("| en-web | 1,000 | 990 | 7 | 3 | 1,200,000 |", body);
        Assert.Contains("| ja-web | — | — | — | — | — |", body);
        Assert.Contains("Weights are float32 safetensors;", body);
    }

    [Fact]
    public async Task The_model_index_carries_the_final_evaluations_named_metrics_per_suite_task()
    {
        var command = Command(40, Hub) with
        {
            Metrics =
            [
                new EvaluationMetric { Name = "perplexity/moby", Value = 22.197951281441636 },
                new EvaluationMetric { Name = "loss/moby", Value = 3.1 },
                new EvaluationMetric { Name = "jcqa/jcommonsenseqa/acc", Value = 0.41 },
                new EvaluationMetric { Name = "harness/arc_easy/acc", Value = 0.5 },
                new EvaluationMetric { Name = "jcqa/jcommonsenseqa/acc_norm", Value = 0.4375 },
                new EvaluationMetric { Name = "jcqa/generation/repetition_rate", Value = 0.125 },
            ],
        };
        var published = await PublishAsync<ModelPublished>(command);
        var card = File.ReadAllText(Path.Combine(published.Folder, "README.md"));

        var end = card.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var front = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(card[4..end]);
        var model = (Dictionary<object, object>)Assert.Single((List<object>)front["model-index"]);
        var results = ((List<object>)model["results"]).Cast<Dictionary<object, object>>().ToList();
        // moby and ja-law as before (moby's named perplexity and loss not repeated), then one result per suite task.
        Assert.Equal(5, results.Count);
        var datasets = results.Select(r => (Dictionary<object, object>)r["dataset"]).ToList();
        Assert.Equal(["moby", "ja-law", "jcommonsenseqa", "arc_easy", "generation"], datasets.Select(d => (string)d["type"]));
        Assert.Equal(["jcqa/jcommonsenseqa", "harness/arc_easy", "jcqa/generation"], datasets.Skip(2).Select(d => (string)d["name"]));
        Assert.All(results, r => Assert.Equal("text-generation", ((Dictionary<object, object>)r["task"])["type"]));
        var jcqa = ((List<object>)results[2]["metrics"]).Cast<Dictionary<object, object>>().ToList();
        Assert.Equal([("acc", "jcqa/jcommonsenseqa/acc", 0.41), ("acc_norm", "jcqa/jcommonsenseqa/acc_norm", 0.4375)],
            jcqa.Select(m => ((string)m["type"], (string)m["name"], double.Parse((string)m["value"], System.Globalization.CultureInfo.InvariantCulture))));
        var repetition = (Dictionary<object, object>)Assert.Single((List<object>)results[4]["metrics"]);
        Assert.Equal(("repetition_rate", "0.125"), ((string)repetition["type"], (string)repetition["value"]));
        Assert.Equal(2, ((List<object>)results[0]["metrics"]).Count);
    }

    [Fact]
    public async Task Publishing_the_same_checkpoint_again_makes_no_new_revision()
    {
        var first = await PublishAsync<ModelPublished>(Command(40, Hub));
        var second = await PublishAsync<ModelPublished>(Command(40, Hub));

        Assert.False(second.Created);
        Assert.Equal(first.Revision, second.Revision);
        Assert.Equal(first.Folder, second.Folder);
        var repoDir = Path.Combine(Hub, "jiniac", "tiny-llama");
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(repoDir, "revisions")).Length);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(repoDir, "revisions.jsonl")).Length);
    }

    [Fact]
    public async Task An_earlier_checkpoint_published_again_after_a_later_one_is_found_in_the_history_and_not_committed_twice()
    {
        var first = await PublishAsync<ModelPublished>(Command(40, Hub));
        await PublishAsync<ModelPublished>(Command(80, Hub));
        var again = await PublishAsync<ModelPublished>(Command(40, Hub));

        Assert.False(again.Created);
        Assert.Equal(first.Revision, again.Revision);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(Hub, "jiniac", "tiny-llama", "revisions.jsonl")).Length);
    }

    [Fact]
    public async Task A_second_checkpoint_makes_a_second_revision_and_moves_main()
    {
        var first = await PublishAsync<ModelPublished>(Command(40, Hub));
        var second = await PublishAsync<ModelPublished>(Command(80, Hub));

        Assert.True(second.Created);
        Assert.NotEqual(first.Revision, second.Revision);
        var repoDir = Path.Combine(Hub, "jiniac", "tiny-llama");
        Assert.Equal(3, Directory.GetDirectories(Path.Combine(repoDir, "revisions")).Length);
        Assert.Equal(second.Revision, File.ReadAllText(Path.Combine(repoDir, "refs", "heads", "main")));
        Assert.Equal(second.Revision, File.ReadAllText(Path.Combine(repoDir, "refs", "heads", "ja-web")));
        var lines = File.ReadAllLines(Path.Combine(repoDir, "revisions.jsonl"));
        Assert.Equal([first.Revision, second.Revision], lines.Skip(1).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("commit").GetString()));
        Assert.Equal(first.Revision, Json(Path.Combine(repoDir, "commits", second.Revision + ".json")).GetProperty("parent").GetString());
        // The first revision's folder still holds its own weights.
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(first.Folder, "model.safetensors")), File.ReadAllBytes(Path.Combine(second.Folder, "model.safetensors")));
    }

    [Fact]
    public async Task With_an_endpoint_and_a_token_file_it_publishes_to_that_hub_and_the_token_is_in_no_log_event_or_file()
    {
        const string secret = "hf_remote_secret_do_not_leak_4711";
        // The token files live outside the state folder, which is searched for the token below.
        using var secrets = new TempFolder();
        var tokenFile = Path.Combine(secrets.Path, "token");
        File.WriteAllText(tokenFile, secret + "\n");
        await using var remote = await TestHubs.StartAsync(Path.Combine(_temp.Path, "remote"), secret, 16 * 1024);
        var command = Command(40, hub: null);
        command = command with { Target = command.Target with { Endpoint = remote.Endpoint.ToString(), TokenFile = tokenFile } };

        var published = await PublishAsync<ModelPublished>(command);

        Assert.True(published.Created);
        Assert.Equal(published.Revision, remote.Store.Resolve("jiniac/tiny-llama", "main"));
        Assert.Equal(published.Revision, remote.Store.Resolve("jiniac/tiny-llama", "ja-web"));
        // Not the local hub: the export is kept under the state folder for whoever needs the files here.
        Assert.Equal(Path.Combine(_host.Paths.Root, "publish", "jiniac", "tiny-llama", published.Revision), published.Folder);
        Assert.Equal(File.ReadAllBytes(Path.Combine(command.CheckpointFolder, "model.safetensors")), File.ReadAllBytes(Path.Combine(published.Folder, "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(_host.Paths.Hub, "jiniac")));

        var wrong = Path.Combine(secrets.Path, "wrong");
        File.WriteAllText(wrong, "hf_wrong_token_also_secret_0815");
        var failed = await PublishAsync<PublishFailed>(Command(80, hub: null) with { Target = command.Target with { TokenFile = wrong } });
        Assert.Contains("401", failed.Reason);

        foreach (var token in new[] { secret, "hf_wrong_token_also_secret_0815" })
        {
            Assert.DoesNotContain(_logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(_host.Events.All, e => JsonSerializer.Serialize(e, e.GetType()).Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(Directory.EnumerateFiles(_host.Paths.Root, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(_temp.Path, "remote"), "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(token, StringComparison.Ordinal));
        }

        Assert.Contains(_logs.Lines, l => l.Contains("Committed jiniac/tiny-llama", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_stage_branches_off_only_main_moves()
    {
        var command = Command(40, Hub);
        var published = await PublishAsync<ModelPublished>(command with { Target = command.Target with { StageBranches = false } });

        var heads = Path.Combine(Hub, "jiniac", "tiny-llama", "refs", "heads");
        Assert.Equal(["main"], Directory.GetFiles(heads).Select(Path.GetFileName));
        Assert.Equal(published.Revision, File.ReadAllText(Path.Combine(heads, "main")));
        Assert.DoesNotContain("revision=", File.ReadAllText(Path.Combine(published.Folder, "README.md")));
    }

    [Fact]
    public async Task A_missing_token_file_fails_the_publish_naming_the_file()
    {
        var command = Command(40, hub: null);
        var missing = Path.Combine(_temp.Path, "no-such-token");
        var failed = await PublishAsync<PublishFailed>(command with { Target = command.Target with { Endpoint = "http://127.0.0.1:9/", TokenFile = missing } });

        Assert.Equal($"token file '{missing}' does not exist", failed.Reason);
    }

    [Fact]
    public async Task The_independent_Python_check_passes_the_float32_folder_and_fails_a_broken_copy()
    {
        var published = await PublishAsync<ModelPublished>(Command(40, Hub));

        var (ok, report, output) = await LayoutCheck.RunAsync(published.Folder);
        Assert.True(ok, output);
        Assert.Equal(("F32", 12, false), (report.GetProperty("dtype").GetString(), report.GetProperty("tensors").GetInt32(), report.GetProperty("tied").GetBoolean()));

        var broken = Path.Combine(_temp.Path, "broken");
        Directory.CreateDirectory(broken);
        foreach (var file in Directory.GetFiles(published.Folder))
        {
            File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(broken, "config.json"), TinyConfig.Replace("\"intermediate_size\": 4", "\"intermediate_size\": 6", StringComparison.Ordinal));
        var (brokenOk, brokenReport, _) = await LayoutCheck.RunAsync(broken);
        Assert.False(brokenOk);
        Assert.Contains(brokenReport.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("model.layers.0.mlp.gate_proj.weight is [4, 2], config makes it [6, 2]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bfloat16_with_a_shard_limit_publishes_rounded_shards_with_an_index_and_passes_the_independent_check()
    {
        var command = Command(40, Hub);
        command = command with { Target = command.Target with { DType = "bfloat16", MaxShardSize = 40 } };
        var published = await PublishAsync<ModelPublished>(command);

        var index = Json(Path.Combine(published.Folder, "model.safetensors.index.json"));
        var map = index.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var shards = map.Values.Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(shards.Count > 2);
        Assert.Equal(Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors"), shards);
        Assert.False(File.Exists(Path.Combine(published.Folder, "model.safetensors")));
        Assert.Equal("bfloat16", Json(Path.Combine(published.Folder, "config.json")).GetProperty("torch_dtype").GetString());

        // Every value is float32 → bfloat16 rounded to nearest even, as torch does, in the order the config makes.
        using var source = SafetensorsReader.Open(Path.Combine(command.CheckpointFolder, "model.safetensors"));
        long total = 0;
        foreach (var (name, file) in map)
        {
            using var shard = SafetensorsReader.Open(Path.Combine(published.Folder, file));
            var info = shard.GetTensor(name);
            Assert.Equal(SafetensorsDType.BF16, info.DType);
            var expected = source.ReadFloat32(name).Select(BFloat16.FromSingle).ToArray();
            Assert.Equal(expected, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(shard.GetBytes(name)).ToArray());
            total += info.ByteLength;
        }

        Assert.Equal(total, index.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var (ok, report, output) = await LayoutCheck.RunAsync(published.Folder);
        Assert.True(ok, output);
        Assert.Equal("BF16", report.GetProperty("dtype").GetString());
        Assert.Contains("in " + shards.Count + " shards", File.ReadAllText(Path.Combine(published.Folder, "README.md")));
    }

    [Fact]
    public async Task Tied_embeddings_publish_no_lm_head()
    {
        var tied = TinyConfig.Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true", StringComparison.Ordinal);
        var command = Command(40, Hub) with { CheckpointFolder = Checkpoint(40, tied, withLmHead: true) };
        var published = await PublishAsync<ModelPublished>(command);

        using var weights = SafetensorsReader.Open(Path.Combine(published.Folder, "model.safetensors"));
        Assert.False(weights.TryGetTensor(LlamaLayout.LmHead, out _));
        Assert.True(weights.TryGetTensor(LlamaLayout.Embeddings, out _));
        var (ok, report, output) = await LayoutCheck.RunAsync(published.Folder);
        Assert.True(ok, output);
        Assert.True(report.GetProperty("tied").GetBoolean());
    }

    [Fact]
    public async Task An_interleaved_RoPE_checkpoint_has_its_q_and_k_rows_permuted_into_rotate_half_order()
    {
        // hidden 8, 2 heads of 4, 1 key/value head: q has 8 rows, k 4.
        var config = TinyConfig.Replace("\"hidden_size\": 2", "\"hidden_size\": 8", StringComparison.Ordinal).Replace("\"num_attention_heads\": 1", "\"num_attention_heads\": 2", StringComparison.Ordinal);
        var checkpoint = Checkpoint(40, config, new Dictionary<string, string> { ["format"] = "pt", [ModelExporter.RopeLayoutKey] = "interleaved" });
        var published = await PublishAsync<ModelPublished>(Command(40, Hub) with { CheckpointFolder = checkpoint });

        using var before = SafetensorsReader.Open(Path.Combine(checkpoint, "model.safetensors"));
        using var after = SafetensorsReader.Open(Path.Combine(published.Folder, "model.safetensors"));
        foreach (var (name, heads) in new[] { ("model.layers.0.self_attn.q_proj.weight", 2), ("model.layers.0.self_attn.k_proj.weight", 1) })
        {
            var old = before.ReadFloat32(name);
            var permuted = after.ReadFloat32(name);
            // Per head of 4 rows, interleaved pairs (0,1),(2,3) become halves: new rows [0, 1, 2, 3] are old rows [0, 2, 1, 3].
            int[] order = [0, 2, 1, 3];
            for (var h = 0; h < heads; h++)
            {
                for (var row = 0; row < 4; row++)
                {
                    Assert.Equal(old.AsSpan(((h * 4) + order[row]) * 8, 8).ToArray(), permuted.AsSpan(((h * 4) + row) * 8, 8).ToArray());
                }
            }
        }

        Assert.Equal(before.ReadFloat32("model.layers.0.self_attn.v_proj.weight"), after.ReadFloat32("model.layers.0.self_attn.v_proj.weight"));
        Assert.False(after.Metadata.ContainsKey(ModelExporter.RopeLayoutKey));
    }

    [Fact]
    public async Task A_checkpoint_missing_a_tensor_or_with_one_of_the_wrong_shape_or_an_extra_one_fails_naming_it()
    {
        var missing = await PublishAsync<PublishFailed>(Command(40, Hub) with { CheckpointFolder = Checkpoint(40, keep: n => n != "model.layers.0.mlp.up_proj.weight") });
        Assert.Contains("model.layers.0.mlp.up_proj.weight", missing.Reason);

        var wide = TinyConfig.Replace("\"vocab_size\": 4", "\"vocab_size\": 5", StringComparison.Ordinal);
        var checkpoint = Checkpoint(41);
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), wide);
        var shape = await PublishAsync<PublishFailed>(Command(41, Hub) with { CheckpointFolder = checkpoint });
        Assert.Equal("model.embed_tokens.weight is [4, 2], config.json makes it [5, 2]", shape.Reason);

        var extra = await PublishAsync<PublishFailed>(Command(42, Hub) with { CheckpointFolder = Checkpoint(42, extra: "model.layers.0.self_attn.rotary_emb.inv_freq") });
        Assert.Equal("the checkpoint has tensors a LlamaForCausalLM does not: model.layers.0.self_attn.rotary_emb.inv_freq", extra.Reason);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("owner/..")]
    [InlineData("owner/name/extra")]
    [InlineData("owner")]
    [InlineData("ow ner/name")]
    public async Task An_unsafe_repository_id_fails_and_writes_nothing(string repo)
    {
        var failed = await PublishAsync<PublishFailed>(Command(40, Hub, repo));

        Assert.Equal(40, failed.Step);
        Assert.Contains("repository", failed.Reason);
        Assert.False(Directory.Exists(Hub));
    }

    [Fact]
    public async Task An_incomplete_checkpoint_fails()
    {
        var command = Command(40, Hub);
        File.Delete(Path.Combine(command.CheckpointFolder, "COMPLETE"));

        var failed = await PublishAsync<PublishFailed>(command);

        Assert.Contains("not complete", failed.Reason);
        Assert.False(Directory.Exists(Path.Combine(Hub, "jiniac", "tiny-llama", "revisions")));
    }
}
