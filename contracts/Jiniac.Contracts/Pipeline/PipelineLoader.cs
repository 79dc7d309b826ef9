using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Jiniac.Contracts.Pipeline;

/// <summary>
/// Reads and validates a pipeline file (docs/pipeline-reference.md). Every problem is collected and
/// reported at once, each with its line, so a bad file is refused before anything starts. The loader
/// only reads: it never creates, writes or deletes anything.
/// </summary>
public static partial class PipelineLoader
{
    /// <exception cref="PipelineValidationException">the file is missing, not valid YAML, or breaks a rule.</exception>
    public static PipelineSpec Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        string yaml;
        try
        {
            yaml = File.ReadAllText(full);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PipelineValidationException([new PipelineError(path, 0, 0, "", $"file not found '{full}'")]);
        }

        return Parse(yaml, path, Path.GetDirectoryName(full)!);
    }

    /// <param name="yaml">The file's text.</param>
    /// <param name="fileName">The name problems are reported under (the file as the user named it).</param>
    /// <param name="baseDirectory">The folder relative paths resolve against: the pipeline file's folder.</param>
    /// <exception cref="PipelineValidationException">the text is not valid YAML or breaks a rule.</exception>
    public static PipelineSpec Parse(string yaml, string fileName, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        var diagnostics = new Diagnostics(fileName);
        var root = ReadDocument(yaml, diagnostics);
        if (root is null)
        {
            throw diagnostics.ToException();
        }

        var reader = new Reader(diagnostics, Path.GetFullPath(baseDirectory));
        var spec = reader.ReadPipeline(root) with
        {
            SourceFile = Path.GetFullPath(Path.Combine(baseDirectory, Path.GetFileName(fileName))),
        };
        if (diagnostics.Count > 0)
        {
            throw diagnostics.ToException();
        }

        return spec;
    }

    private static YamlSection? ReadDocument(string yaml, Diagnostics diagnostics)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            diagnostics.Add(e.Start, "", $"YAML syntax error: {ParserMessage(e)}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16.3's scanner throws this, without a location, on some malformed flow
            // collections (e.g. an unclosed '['); where it stopped reading is the best line we have.
            diagnostics.Add(scanner.CurrentPosition, "", "YAML syntax error: the parser could not continue here (an unclosed '[', '{' or quote before this point?)");
            return null;
        }

        if (stream.Documents.Count == 0 || YamlSection.IsNull(stream.Documents[0].RootNode))
        {
            diagnostics.AddFileProblem("the file is empty");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            diagnostics.Add(stream.Documents[1].RootNode.Start, "", "only one YAML document is allowed (remove the second '---')");
        }

        var node = stream.Documents[0].RootNode;
        if (node is not YamlMappingNode map)
        {
            diagnostics.Add(node.Start, "", "the file must be a mapping of keys (name, tokenizer, model, training, stages, ...) to values");
            return null;
        }

        return YamlSection.Root(diagnostics, map);
    }

    /// <summary>YamlDotNet prefixes its messages with the location we already report.</summary>
    private static string ParserMessage(YamlException e)
    {
        var message = e.Message;
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && marker > 0 ? message[(marker + 3)..] : message;
    }

    /// <summary>The rules of the pipeline file, one method per section.</summary>
    private sealed partial class Reader(Diagnostics diagnostics, string baseDirectory)
    {
        public PipelineSpec ReadPipeline(YamlSection root)
        {
            var name = root.RequiredString("name");
            CheckName(root, "name", name, "pipeline name");
            var description = root.String("description");

            var tokenizerSection = root.Section("tokenizer", required: true)!;
            var tokenizer = ReadTokenizer(tokenizerSection);
            var modelSection = root.Section("model", required: true)!;
            var model = ReadModel(modelSection);
            var trainingSection = root.Section("training", required: true)!;
            var training = ReadTraining(trainingSection, modelSection, model);
            var evaluationSection = root.Section("evaluation", required: false);
            var evaluation = evaluationSection is null ? new EvaluationSpec() : ReadEvaluation(evaluationSection, training);
            var publishSection = root.Section("publish", required: false);
            var publish = publishSection is null ? null : ReadPublish(publishSection);
            var stages = ReadStages(root);
            var integrations = ReadIntegrations(root);
            root.Finish();

            return new PipelineSpec
            {
                Name = name,
                Description = description,
                Tokenizer = tokenizer,
                Model = model,
                Training = training,
                Evaluation = evaluation,
                Publish = publish,
                Stages = stages,
                Integrations = integrations,
            };
        }

        private TokenizerSpec ReadTokenizer(YamlSection section)
        {
            var path = section.String("path");
            var trainSection = section.Section("train", required: false);
            if (section.IsPresent && path is not null && trainSection is not null)
            {
                section.Error("train", "give either 'path' (an existing tokenizer) or 'train' (settings to train one), not both");
            }
            else if (section.IsPresent && path is null && trainSection is null && section.Ok("path") && section.Ok("train"))
            {
                section.Error("path", "give either 'path' (an existing tokenizer.json) or 'train' (settings to train one)");
            }

            string? resolved = null;
            if (path is not null)
            {
                resolved = ResolvePath(section, "path", path);
                if (resolved is not null && !File.Exists(resolved))
                {
                    section.Error("path", $"file not found '{resolved}'");
                }
            }

            var train = trainSection is null ? null : ReadTokenizerTraining(trainSection);
            var addSpecialTokens = ReadAddSpecialTokens(section, path);
            section.Finish();
            return new TokenizerSpec { Path = resolved, Train = train, AddSpecialTokens = addSpecialTokens };
        }

        /// <summary>tokenizer.add_special_tokens: only a tokenizer.json has a post-processor to take them from; on a
        /// .model or .tiktoken file the key would silently do nothing, so it is refused.</summary>
        private static bool ReadAddSpecialTokens(YamlSection section, string? path)
        {
            var add = section.Bool("add_special_tokens", false);
            section.Check("add_special_tokens",
                !add || path is null || !(path.EndsWith(".model", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase)),
                "a SentencePiece .model or .tiktoken file has no post-processor to add special tokens from; use a tokenizer.json with one (e.g. TemplateProcessing)");
            return add;
        }

        private static TokenizerTrainingSpec ReadTokenizerTraining(YamlSection section)
        {
            var defaults = new TokenizerTrainingSpec { VocabSize = 0 };
            var vocabSize = section.RequiredInt("vocab_size");
            var sampleBytes = section.Long("sample_bytes", defaults.SampleBytes, NumberUnits.Bytes);
            section.Check("sample_bytes", sampleBytes > 0, "must be greater than 0");
            var minFrequency = section.Int("min_frequency", defaults.MinFrequency);
            section.Check("min_frequency", minFrequency >= 1, "must be at least 1");

            IReadOnlyList<string> specialTokens = defaults.SpecialTokens;
            var listed = section.StringList("special_tokens");
            if (listed is not null)
            {
                var tokens = new List<string>(listed.Count);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (token, at, path) in listed)
                {
                    if (token.Length == 0)
                    {
                        section.Diagnostics.Add(at, path, "a special token cannot be empty");
                    }
                    else if (!seen.Add(token))
                    {
                        section.Diagnostics.Add(at, path, $"special token '{token}' is listed twice");
                    }

                    tokens.Add(token);
                }

                section.Check("special_tokens", tokens.Count >= 1, "list at least one special token (the first is the end-of-document token)");
                specialTokens = tokens;
            }

            // Ids 0..255 go to the byte alphabet after the special tokens, so merges need room above that.
            var floor = 256 + specialTokens.Count;
            section.Check("vocab_size", vocabSize > floor,
                $"must be greater than {floor} (256 byte tokens + {specialTokens.Count} special token{(specialTokens.Count == 1 ? "" : "s")})");
            section.Check("vocab_size", vocabSize <= 1_000_000, "must be at most 1000000");
            section.Finish();
            return new TokenizerTrainingSpec
            {
                VocabSize = vocabSize,
                SampleBytes = sampleBytes,
                MinFrequency = minFrequency,
                SpecialTokens = specialTokens,
            };
        }

        private static ModelSpec ReadModel(YamlSection section)
        {
            var defaults = new ModelSpec
            {
                HiddenSize = 0, IntermediateSize = 0, NumLayers = 0, NumHeads = 0, NumKvHeads = 0, MaxPositionEmbeddings = 0,
            };
            var hidden = Positive(section, "hidden_size");
            var intermediate = Positive(section, "intermediate_size");
            var layers = Positive(section, "num_layers");
            var heads = Positive(section, "num_heads");
            var kvHeads = Positive(section, "num_kv_heads");
            var maxPositions = Positive(section, "max_position_embeddings");
            var eps = section.Double("rms_norm_eps", defaults.RmsNormEps);
            section.Check("rms_norm_eps", eps > 0, "must be greater than 0");
            var theta = section.Double("rope_theta", defaults.RopeTheta);
            section.Check("rope_theta", theta > 0, "must be greater than 0");
            var tie = section.Bool("tie_word_embeddings", defaults.TieWordEmbeddings);

            if (section.Ok("hidden_size") && section.Ok("num_heads") && hidden > 0 && heads > 0)
            {
                if (hidden % heads != 0)
                {
                    section.Error("num_heads", $"hidden_size ({hidden}) must be divisible by num_heads ({heads})");
                }
                else
                {
                    section.Check("num_heads", hidden / heads % 2 == 0,
                        $"the head dimension hidden_size / num_heads = {hidden / heads} must be even (RoPE rotates pairs of dimensions)");
                }
            }

            if (section.Ok("num_heads") && section.Ok("num_kv_heads") && heads > 0 && kvHeads > 0)
            {
                section.Check("num_kv_heads", heads % kvHeads == 0, $"num_heads ({heads}) must be divisible by num_kv_heads ({kvHeads})");
            }

            section.Finish();
            return new ModelSpec
            {
                HiddenSize = hidden,
                IntermediateSize = intermediate,
                NumLayers = layers,
                NumHeads = heads,
                NumKvHeads = kvHeads,
                MaxPositionEmbeddings = maxPositions,
                RmsNormEps = eps,
                RopeTheta = theta,
                TieWordEmbeddings = tie,
            };
        }

        private static TrainingSpec ReadTraining(YamlSection section, YamlSection model, ModelSpec modelSpec)
        {
            var defaults = new TrainingSpec { SeqLength = 0, MicroBatchSize = 0, LearningRate = 0 };
            var seqLength = section.RequiredInt("seq_length");
            section.Check("seq_length", seqLength >= 2, "must be at least 2 (a context and the token it predicts)");
            if (model.Ok("max_position_embeddings") && modelSpec.MaxPositionEmbeddings > 0)
            {
                section.Check("seq_length", seqLength <= modelSpec.MaxPositionEmbeddings,
                    $"must be at most model.max_position_embeddings ({modelSpec.MaxPositionEmbeddings})");
            }

            var microBatch = section.RequiredInt("micro_batch_size");
            section.Check("micro_batch_size", microBatch >= 1, "must be at least 1");
            var learningRate = section.RequiredDouble("learning_rate");
            section.Check("learning_rate", learningRate > 0, "must be greater than 0");
            var minLearningRate = section.Double("min_learning_rate", defaults.MinLearningRate);
            section.Check("min_learning_rate", minLearningRate >= 0, "must be at least 0");
            if (section.Ok("learning_rate") && learningRate > 0)
            {
                section.Check("min_learning_rate", minLearningRate <= learningRate,
                    $"must be at most learning_rate ({learningRate.ToString(CultureInfo.InvariantCulture)})");
            }

            var warmup = section.Int("warmup_steps", defaults.WarmupSteps);
            section.Check("warmup_steps", warmup >= 0, "must be at least 0");
            var weightDecay = section.Double("weight_decay", defaults.WeightDecay);
            section.Check("weight_decay", weightDecay >= 0, "must be at least 0");
            var beta1 = section.Double("beta1", defaults.Beta1);
            section.Check("beta1", beta1 is >= 0 and < 1, "must be in [0, 1)");
            var beta2 = section.Double("beta2", defaults.Beta2);
            section.Check("beta2", beta2 is >= 0 and < 1, "must be in [0, 1)");
            var gradClip = section.Double("grad_clip", defaults.GradClip);
            section.Check("grad_clip", gradClip > 0, "must be greater than 0");
            var seed = section.Long("seed", defaults.Seed);
            var checkpointInterval = section.Int("checkpoint_interval", defaults.CheckpointInterval);
            section.Check("checkpoint_interval", checkpointInterval >= 1, "must be at least 1");
            var logInterval = section.Int("log_interval", defaults.LogInterval);
            section.Check("log_interval", logInterval >= 1, "must be at least 1");
            var maxRestarts = section.Int("max_restarts", defaults.MaxRestarts);
            section.Check("max_restarts", maxRestarts >= 0, "must be at least 0");
            var threads = section.Int("threads", defaults.Threads);
            section.Check("threads", threads >= 0, "must be at least 0 (0 = all cores)");
            var supervisionSection = section.Section("supervision", required: false);
            var supervision = supervisionSection is null ? defaults.Supervision : ReadSupervision(supervisionSection);
            var retentionSection = section.Section("retention", required: false);
            var retention = retentionSection is null ? defaults.Retention : ReadRetention(retentionSection);
            var lrSchedule = ReadLrSchedule(section) ?? LrSchedules.Restart;
            var trainer = TrainerAndBackend.ReadTrainer(section, section.Ok("micro_batch_size") ? microBatch : 0);
            var backend = TrainerAndBackend.ReadBackend(section);
            section.Finish();
            return new TrainingSpec
            {
                SeqLength = seqLength,
                MicroBatchSize = microBatch,
                LearningRate = learningRate,
                MinLearningRate = minLearningRate,
                WarmupSteps = warmup,
                WeightDecay = weightDecay,
                Beta1 = beta1,
                Beta2 = beta2,
                GradClip = gradClip,
                Seed = seed,
                CheckpointInterval = checkpointInterval,
                LogInterval = logInterval,
                MaxRestarts = maxRestarts,
                Threads = threads,
                Supervision = supervision,
                Retention = retention,
                Trainer = trainer,
                Backend = backend,
                LrSchedule = lrSchedule,
            };
        }

        /// <summary>lr_schedule of training or of a stage (docs/pipeline-reference.md, "Learning-rate schedule across stages").</summary>
        private static string? ReadLrSchedule(YamlSection section)
        {
            var value = section.String("lr_schedule");
            section.Check("lr_schedule", value is null || LrSchedules.All.Contains(value), $"must be one of: {string.Join(", ", LrSchedules.All)}");
            return value;
        }

        private static RetentionSpec ReadRetention(YamlSection section)
        {
            var defaults = new RetentionSpec();
            var keepLast = section.Int("keep_last", defaults.KeepLast);
            // Two at least: a loss-spike rollback needs a checkpoint from before the spike besides the latest.
            section.Check("keep_last", keepLast == 0 || keepLast >= 2, "must be 0 (keep every checkpoint) or at least 2");
            var keepEvery = section.Long("keep_every", defaults.KeepEvery);
            section.Check("keep_every", keepEvery >= 0, "must be at least 0 (0 = none kept for their step)");
            var keepBest = section.String("keep_best");
            section.Check("keep_best", keepBest is null || (keepBest.Length > 0 && keepBest.Trim() == keepBest),
                "must be a metric name as evaluation reports it, e.g. perplexity/DOMAIN or SUITE/TASK/acc_norm");
            var archive = section.Bool("archive", defaults.Archive);
            var parallelism = section.Int("archive_parallelism", defaults.ArchiveParallelism);
            section.Check("archive_parallelism", parallelism is >= 1 and <= 64, "must be in [1, 64]");
            section.Finish();
            return new RetentionSpec { KeepLast = keepLast, KeepEvery = keepEvery, KeepBest = keepBest, Archive = archive, ArchiveParallelism = parallelism };
        }

        private static SupervisionSpec ReadSupervision(YamlSection section)
        {
            var defaults = new SupervisionSpec();
            var backoff = section.Double("restart_backoff_seconds", defaults.RestartBackoffSeconds);
            section.Check("restart_backoff_seconds", backoff >= 0, "must be at least 0");
            var backoffMax = section.Double("restart_backoff_max_seconds", defaults.RestartBackoffMaxSeconds);
            section.Check("restart_backoff_max_seconds", backoffMax >= 0, "must be at least 0");
            if (section.Ok("restart_backoff_seconds") && backoff >= 0)
            {
                section.Check("restart_backoff_max_seconds", backoffMax >= backoff,
                    $"must be at least restart_backoff_seconds ({backoff.ToString(CultureInfo.InvariantCulture)})");
            }

            var sameStep = section.Int("same_step_crashes", defaults.SameStepCrashes);
            section.Check("same_step_crashes", sameStep >= 1, "must be at least 1");
            var stallFactor = section.Double("stall_factor", defaults.StallFactor);
            section.Check("stall_factor", stallFactor >= 1, "must be at least 1 (a multiple of the median step time)");
            var stallMin = section.Double("stall_min_seconds", defaults.StallMinSeconds);
            section.Check("stall_min_seconds", stallMin > 0, "must be greater than 0");
            var grace = section.Double("startup_grace_seconds", defaults.StartupGraceSeconds);
            section.Check("startup_grace_seconds", grace > 0, "must be greater than 0");
            var stopGrace = section.Double("stop_grace_seconds", defaults.StopGraceSeconds);
            section.Check("stop_grace_seconds", stopGrace > 0, "must be greater than 0");
            var lowThroughput = section.Double("low_throughput_ratio", defaults.LowThroughputRatio);
            section.Check("low_throughput_ratio", lowThroughput is >= 0 and < 1, "must be in [0, 1) (0 = off)");
            var method = section.String("spike_method") ?? defaults.SpikeMethod;
            section.Check("spike_method", SpikeMethods.All.Contains(method), $"must be one of: {string.Join(", ", SpikeMethods.All)}");
            // The same number means different things to the two methods, so each has its own default.
            var threshold = section.Double("spike_threshold", method == SpikeMethods.ZScore ? 6.0 : defaults.SpikeThreshold);
            section.Check("spike_threshold", method == SpikeMethods.ZScore ? threshold > 0 : threshold > 1,
                method == SpikeMethods.ZScore ? "must be greater than 0 (standard deviations)" : "must be greater than 1 (a multiple of the rolling median)");
            var window = section.Int("spike_window", defaults.SpikeWindow);
            section.Check("spike_window", window >= 3, "must be at least 3");
            var policy = section.String("spike_policy") ?? defaults.SpikePolicy;
            section.Check("spike_policy", SpikePolicies.All.Contains(policy), $"must be one of: {string.Join(", ", SpikePolicies.All)}");
            var maxRollbacks = section.Int("max_rollbacks", defaults.MaxRollbacks);
            section.Check("max_rollbacks", maxRollbacks >= 0, "must be at least 0");
            section.Finish();
            return new SupervisionSpec
            {
                RestartBackoffSeconds = backoff,
                RestartBackoffMaxSeconds = backoffMax,
                SameStepCrashes = sameStep,
                StallFactor = stallFactor,
                StallMinSeconds = stallMin,
                StartupGraceSeconds = grace,
                StopGraceSeconds = stopGrace,
                LowThroughputRatio = lowThroughput,
                SpikeMethod = method,
                SpikeThreshold = threshold,
                SpikeWindow = window,
                SpikePolicy = policy,
                MaxRollbacks = maxRollbacks,
            };
        }

        private EvaluationSpec ReadEvaluation(YamlSection section, TrainingSpec training)
        {
            var defaults = new EvaluationSpec();
            var everyN = section.Int("every_n_checkpoints", defaults.EveryNCheckpoints);
            section.Check("every_n_checkpoints", everyN >= 0, "must be at least 0 (0 = only each stage's final checkpoint)");
            var maxTokens = section.Long("max_tokens_per_domain", defaults.MaxTokensPerDomain, NumberUnits.Count);
            section.Check("max_tokens_per_domain", maxTokens >= 0, "must be at least 0 (0 = the whole held-out split)");
            var suites = ReadSuites(section, training);
            var gates = ReadGates(section, suites);
            section.Finish();
            return new EvaluationSpec
            {
                EveryNCheckpoints = everyN,
                MaxTokensPerDomain = maxTokens,
                // Unset lists stay the defaults, so a spec without suites equals one built in code.
                Suites = suites.Count > 0 ? suites : defaults.Suites,
                Gates = gates.Count > 0 ? gates : defaults.Gates,
            };
        }

        private PublishSpec ReadPublish(YamlSection section)
        {
            var defaults = new PublishSpec { Repo = "" };
            var repo = section.RequiredString("repo");
            if (section.Ok("repo"))
            {
                var slash = repo.IndexOf('/');
                var valid = slash > 0 && slash == repo.LastIndexOf('/')
                    && SafeNames.IsValid(repo[..slash]) && SafeNames.IsValid(repo[(slash + 1)..]);
                section.Check("repo", valid, $"'{repo}' is not 'owner/name' (each a safe name: letters, digits, '-', '_', '.')");
            }

            var hubDir = section.String("hub_dir");
            var resolvedHub = hubDir is null ? null : ResolvePath(section, "hub_dir", hubDir);
            var license = section.String("license") ?? defaults.License;
            section.Check("license", license.Length > 0 && SafeNames.IsValid(license), $"license '{license}' is not a license id such as apache-2.0 or mit");
            IReadOnlyList<string> languages = defaults.Languages;
            var listed = section.StringList("languages");
            if (listed is not null)
            {
                var codes = new List<string>(listed.Count);
                foreach (var (code, at, path) in listed)
                {
                    if (!IsLanguageCode(code))
                    {
                        section.Diagnostics.Add(at, path, $"'{code}' is not a language code such as en or ja");
                    }

                    codes.Add(code);
                }

                languages = codes;
            }

            var hub = ReadPublishHub(section, defaults);
            hub = hub with { TokenSecret = ReadPublishTokenSecret(section) };
            section.Finish();
            return hub with { Repo = repo, HubDir = resolvedHub, License = license, Languages = languages };
        }

        /// <summary>The Hub protocol and export keys of publish: endpoint, token_file, dtype, max_shard_size, stage_branches.</summary>
        private PublishSpec ReadPublishHub(YamlSection section, PublishSpec defaults)
        {
            var endpoint = section.String("endpoint");
            if (endpoint is not null)
            {
                var valid = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                    && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment);
                section.Check("endpoint", valid, $"'{endpoint}' is not an http(s) URL without user info, query or fragment (such as https://huggingface.co)");
            }

            var tokenText = section.String("token_file");
            var tokenFile = tokenText is null ? null : ResolvePath(section, "token_file", tokenText);
            if (tokenFile is not null)
            {
                section.Check("token_file", File.Exists(tokenFile), $"token file '{tokenFile}' does not exist");
            }

            var dtype = section.String("dtype") ?? defaults.DType;
            section.Check("dtype", dtype is "float32" or "bfloat16", $"'{dtype}' is not a published dtype: float32 or bfloat16");
            var shardText = section.String("max_shard_size");
            var maxShard = defaults.MaxShardSize;
            if (shardText is not null)
            {
                var parsed = ParseByteSize(shardText);
                section.Check("max_shard_size", parsed is > 0, $"'{shardText}' is not a size such as 5GB, 500MB, 2GiB or 1000000 (bytes)");
                maxShard = parsed ?? maxShard;
            }

            var branches = section.Bool("stage_branches", defaults.StageBranches);
            return defaults with { Endpoint = endpoint, TokenFile = tokenFile, DType = dtype, MaxShardSize = maxShard, StageBranches = branches };
        }

        /// <summary>huggingface_hub's convert_file_size_to_int: KB/MB/GB are powers of 10, KiB/MiB/GiB powers of 2; a bare number is bytes.</summary>
        private static long? ParseByteSize(string text)
        {
            var units = new (string Suffix, long Factor)[] { ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1) };
            var trimmed = text.Trim();
            long factor = 1;
            foreach (var (suffix, value) in units)
            {
                if (trimmed.EndsWith(suffix, StringComparison.Ordinal))
                {
                    trimmed = trimmed[..^suffix.Length].TrimEnd();
                    factor = value;
                    break;
                }
            }

            return long.TryParse(trimmed, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number <= long.MaxValue / factor
                ? number * factor
                : null;
        }

        private List<StageSpec> ReadStages(YamlSection root)
        {
            var stages = new List<StageSpec>();
            var items = root.Items("stages", required: true);
            if (items is null)
            {
                return stages;
            }

            root.Check("stages", items.Count >= 1, "list at least one stage");
            var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var (node, path) in items)
            {
                var section = YamlSection.Of(diagnostics, node, node.Start, path);
                var stage = ReadStage(section);
                // Stage names become folder names and blob keys, so they must differ even on a case-insensitive disk.
                if (section.Ok("name") && stage.Name.Length > 0)
                {
                    if (names.TryGetValue(stage.Name, out var firstLine))
                    {
                        section.Error("name", $"stage name '{stage.Name}' is already used by the stage on line {firstLine}");
                    }
                    else
                    {
                        names.Add(stage.Name, checked((int)section.LocationOf("name").Line));
                    }
                }

                stages.Add(stage);
            }

            return stages;
        }

        private StageSpec ReadStage(YamlSection section)
        {
            var name = section.RequiredString("name");
            CheckName(section, "name", name, "stage name");
            var budget = section.RequiredLong("token_budget", NumberUnits.Count);
            section.Check("token_budget", budget > 0, "must be greater than 0");
            var learningRate = section.OptionalDouble("learning_rate");
            section.Check("learning_rate", learningRate is null or > 0, "must be greater than 0");
            var lrSchedule = ReadLrSchedule(section);

            var sources = new List<SourceSpec>();
            var items = section.Items("sources", required: section.IsPresent);
            if (items is not null)
            {
                section.Check("sources", items.Count >= 1, "list at least one source");
                var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                foreach (var (node, path) in items)
                {
                    var sourceSection = YamlSection.Of(diagnostics, node, node.Start, path);
                    var source = ReadSource(sourceSection);
                    if (sourceSection.Ok("name") && source.Name.Length > 0)
                    {
                        if (names.TryGetValue(source.Name, out var firstLine))
                        {
                            sourceSection.Error("name", $"source name '{source.Name}' is already used in this stage by the source on line {firstLine}");
                        }
                        else
                        {
                            names.Add(source.Name, checked((int)sourceSection.LocationOf("name").Line));
                        }
                    }

                    sources.Add(source);
                }
            }

            section.Finish();
            return new StageSpec { Name = name, TokenBudget = budget, LearningRate = learningRate, Sources = sources, LrSchedule = lrSchedule };
        }

        private SourceSpec ReadSource(YamlSection section)
        {
            var defaults = new SourceSpec { Name = "", Paths = [] };
            var name = section.RequiredString("name");
            CheckName(section, "name", name, "source name");
            var paths = ReadSourcePaths(section);

            var format = defaults.Format;
            var formatText = section.String("format");
            if (formatText is not null)
            {
                switch (formatText.ToLowerInvariant())
                {
                    case "auto": format = SourceFormat.Auto; break;
                    case "jsonl": format = SourceFormat.Jsonl; break;
                    case "jsonl.gz": format = SourceFormat.JsonlGz; break;
                    case "tree": format = SourceFormat.Tree; break;
                    case "jsonl.zst": format = SourceFormat.JsonlZst; break;
                    case "parquet": format = SourceFormat.Parquet; break;
                    default: section.Error("format", $"must be one of auto, jsonl, jsonl.gz, jsonl.zst, parquet, tree, not '{formatText}'"); break;
                }
            }

            var textField = section.String("text_field") ?? defaults.TextField;
            section.Check("text_field", textField.Length > 0, "cannot be empty");
            var weight = section.Double("weight", defaults.Weight);
            section.Check("weight", weight > 0, "must be greater than 0");
            var domain = section.String("domain");
            if (domain is not null)
            {
                CheckName(section, "domain", domain, "domain");
            }

            var evalFraction = section.Double("eval_fraction", defaults.EvalFraction);
            section.Check("eval_fraction", evalFraction is >= 0 and <= 0.5, "must be between 0 and 0.5");
            var shardBytes = section.Long("shard_bytes", defaults.ShardBytes, NumberUnits.Bytes);
            section.Check("shard_bytes", shardBytes >= 4096, "must be at least 4096");
            var minChars = section.Int("min_chars", defaults.MinChars);
            section.Check("min_chars", minChars >= 0, "must be at least 0");
            var (cleaning, pii, dedup) = ReadSourceRules(section);
            section.Finish();
            return new SourceSpec
            {
                Name = name,
                Paths = paths,
                Format = format,
                TextField = textField,
                Weight = weight,
                Domain = domain,
                EvalFraction = evalFraction,
                ShardBytes = shardBytes,
                MinChars = minChars,
                Cleaning = cleaning,
                Pii = pii,
                Dedup = dedup,
            };
        }

        /// <summary><c>paths</c> (a string or a list) or its single-path alias <c>path</c>; each must exist or, as a glob, match a file.</summary>
        private List<string> ReadSourcePaths(YamlSection section)
        {
            var single = section.String("path");
            var listed = section.StringList("paths");
            var resolved = new List<string>();
            if (!section.IsPresent)
            {
                return resolved;
            }

            if (single is not null && listed is not null)
            {
                section.Error("path", "give either 'path' or 'paths', not both");
                return resolved;
            }

            if (single is null && listed is null)
            {
                if (section.Ok("path") && section.Ok("paths"))
                {
                    section.Error("paths", "is required but missing (a file, folder or glob, or a list of them; 'path' for one)");
                }

                return resolved;
            }

            var entries = listed ?? [(single!, section.LocationOf("path"), section.PathOf("path"))];
            section.Check("paths", entries.Count >= 1, "list at least one file, folder or glob");
            foreach (var (text, at, path) in entries)
            {
                if (text.Length == 0)
                {
                    diagnostics.Add(at, path, "a path cannot be empty");
                    continue;
                }

                if (BlobSourcePaths.IsBlob(text))
                {
                    // Only the syntax can be checked here; the blobs are listed when the source is ingested.
                    if (BlobSourcePaths.Problem(text) is { } problem)
                    {
                        diagnostics.Add(at, path, problem);
                    }

                    resolved.Add(text);
                    continue;
                }

                string full;
                try
                {
                    full = Path.GetFullPath(Path.Combine(baseDirectory, text));
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
                {
                    diagnostics.Add(at, path, $"'{text}' is not a valid path: {e.Message}");
                    continue;
                }

                if (SourcePaths.IsGlob(full))
                {
                    if (SourcePaths.ExpandGlob(full).Count == 0)
                    {
                        diagnostics.Add(at, path, $"glob matches no file '{full}'");
                    }
                }
                else if (!File.Exists(full) && !Directory.Exists(full))
                {
                    diagnostics.Add(at, path, $"file not found '{full}'");
                }

                resolved.Add(full);
            }

            return resolved;
        }

        private string? ResolvePath(YamlSection section, string key, string text)
        {
            if (text.Length == 0)
            {
                section.Error(key, "a path cannot be empty");
                return null;
            }

            try
            {
                return Path.GetFullPath(Path.Combine(baseDirectory, text));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                section.Error(key, $"'{text}' is not a valid path: {e.Message}");
                return null;
            }
        }

        private static int Positive(YamlSection section, string key)
        {
            var value = section.RequiredInt(key);
            section.Check(key, value >= 1, "must be at least 1");
            return value;
        }

        private static void CheckName(YamlSection section, string key, string value, string what)
        {
            if (section.Has(key))
            {
                section.Check(key, SafeNames.IsValid(value),
                    $"{what} '{value}' is not a safe name: use letters, digits, '-', '_' and '.' (at most 128 characters)");
            }
        }

        private static bool IsLanguageCode(string code)
        {
            if (code.Length is < 2 or > 35)
            {
                return false;
            }

            foreach (var c in code)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }

            return true;
        }
    }
}

/// <summary>
/// Names that become paths or blob keys: letters, digits, '-', '_', '.', at most 128 characters, not "." or "..".
/// The same rule as Jiniac.Hosting's SafeName, which the contracts cannot reference.
/// </summary>
internal static class SafeNames
{
    public static bool IsValid(string name)
    {
        if (name.Length is 0 or > 128 || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
