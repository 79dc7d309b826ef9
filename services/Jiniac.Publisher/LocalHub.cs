using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Jiniac.Contracts;
using Jiniac.Hosting;
using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Options;

namespace Jiniac.Publisher;

/// <summary>The outcome of one publish.</summary>
public sealed record PublishedRevision(string Repo, string Revision, string Folder, bool Created);

/// <summary>
/// A Hugging Face hub laid out in a folder: <c>{hub}/{owner}/{name}/revisions/{revision}/</c> holds one
/// loadable LlamaForCausalLM folder per revision, <c>refs/main</c> names the current one and
/// <c>revisions.jsonl</c> lists them with the checkpoint each came from. A revision id is the first 40 hex
/// digits of SHA-256 over the sorted (path, SHA-256 of file) list, like a commit id: same files, same id.
/// </summary>
public sealed partial class LocalHub(IOptions<PublisherOptions> options, StatePaths paths, IBlobStore blobs, TimeProvider time)
{
    public const string RevisionsFolder = "revisions";
    public const string RevisionIndex = "revisions.jsonl";
    public const string MainRef = "refs/main";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions OneLine = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task<PublishedRevision> PublishAsync(PublishModel message, CancellationToken cancellationToken)
    {
        var repo = RepoId.Parse(message.Target.Repo);
        var hub = Path.GetFullPath(message.Target.HubDir ?? paths.Hub);
        var repoDir = Path.Combine(hub, repo.Owner, repo.Name);
        Directory.CreateDirectory(repoDir);
        await using var held = await LockAsync(Path.Combine(repoDir, ".lock"), cancellationToken);

        var index = ReadIndex(Path.Combine(repoDir, RevisionIndex));
        foreach (var entry in index)
        {
            if (entry.Run == message.RunId && entry.Stage == message.Stage && entry.Step == message.Step
                && Directory.Exists(Path.Combine(repoDir, RevisionsFolder, entry.Revision)))
            {
                return new PublishedRevision(repo.ToString(), entry.Revision, Path.Combine(repoDir, RevisionsFolder, entry.Revision), Created: false);
            }
        }

        var checkpoint = Path.GetFullPath(message.CheckpointFolder);
        if (!File.Exists(Path.Combine(checkpoint, "COMPLETE")))
        {
            throw new PublishException($"checkpoint '{checkpoint}' is not complete");
        }

        var configBytes = await File.ReadAllBytesAsync(Path.Combine(checkpoint, "config.json"), cancellationToken);
        var model = ReadModelFacts(configBytes);
        byte[] tokenizer;
        await using (var stream = await blobs.OpenReadAsync(message.TokenizerBlob, cancellationToken))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            tokenizer = buffer.ToArray();
        }

        var eod = EndOfDocumentToken(tokenizer, model.EosTokenId, out var addedTokens);
        var temp = Path.Combine(repoDir, $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var weights in WeightFiles(checkpoint))
            {
                PlaceWeights(Path.Combine(checkpoint, weights), Path.Combine(temp, weights));
            }

            await File.WriteAllBytesAsync(Path.Combine(temp, "config.json"), configBytes, cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(temp, "tokenizer.json"), tokenizer, cancellationToken);
            await WriteJsonAsync(Path.Combine(temp, "generation_config.json"), new JsonObject
            {
                ["_from_model_config"] = true,
                ["bos_token_id"] = model.BosTokenId,
                ["eos_token_id"] = model.EosTokenId,
            }, cancellationToken);
            var decoder = new JsonObject();
            foreach (var token in addedTokens)
            {
                decoder[token.Id.ToString(CultureInfo.InvariantCulture)] = new JsonObject
                {
                    ["content"] = token.Content,
                    ["lstrip"] = token.Lstrip,
                    ["normalized"] = token.Normalized,
                    ["rstrip"] = token.Rstrip,
                    ["single_word"] = token.SingleWord,
                    ["special"] = token.Special,
                };
            }

            await WriteJsonAsync(Path.Combine(temp, "tokenizer_config.json"), new JsonObject
            {
                ["tokenizer_class"] = "PreTrainedTokenizerFast",
                ["bos_token"] = eod,
                ["eos_token"] = eod,
                ["unk_token"] = eod,
                ["model_max_length"] = model.ContextLength,
                ["clean_up_tokenization_spaces"] = false,
                ["added_tokens_decoder"] = decoder,
            }, cancellationToken);
            await WriteJsonAsync(Path.Combine(temp, "special_tokens_map.json"), new JsonObject
            {
                ["bos_token"] = eod,
                ["eos_token"] = eod,
                ["unk_token"] = eod,
            }, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(temp, "README.md"), ModelCard.Render(message, repo, model), new UTF8Encoding(false), cancellationToken);

            var revision = await RevisionIdAsync(temp, cancellationToken);
            var revisions = Path.Combine(repoDir, RevisionsFolder);
            var final = Path.Combine(revisions, revision);
            Directory.CreateDirectory(revisions);
            if (Directory.Exists(final))
            {
                // The same files were written before (a publish that died before updating the index): reuse them.
                Directory.Delete(temp, recursive: true);
            }
            else
            {
                FlushFolder(temp);
                Directory.Move(temp, final);
            }

            var line = JsonSerializer.Serialize(new RevisionEntry
            {
                Revision = revision,
                Run = message.RunId,
                Stage = message.Stage,
                Step = message.Step,
                Checkpoint = checkpoint,
                Created = time.GetUtcNow(),
            }, OneLine);
            AppendLineAtomically(Path.Combine(repoDir, RevisionIndex), line);
            Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
            AtomicFile.Write(Path.Combine(repoDir, MainRef), Encoding.ASCII.GetBytes(revision));
            return new PublishedRevision(repo.ToString(), revision, final, Created: true);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>The revision id: SHA-256 over "sha256  path\n" lines sorted by path (sha256sum's format), first 40 hex digits.</summary>
    public static async Task<string> RevisionIdAsync(string folder, CancellationToken cancellationToken)
    {
        var files = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            files.Add(Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/'));
        }

        files.Sort(StringComparer.Ordinal);
        var listing = new StringBuilder();
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(Path.Combine(folder, file));
            var hash = await SHA256.HashDataAsync(stream, cancellationToken);
            listing.Append(Convert.ToHexStringLower(hash)).Append("  ").Append(file).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())))[..40];
    }

    private static ModelFacts ReadModelFacts(byte[] config)
    {
        var node = JsonNode.Parse(config) as JsonObject ?? throw new PublishException("config.json is not a JSON object");
        int Int(string name) => node[name]?.GetValue<int>() ?? throw new PublishException($"config.json has no {name}");
        var architectures = node["architectures"]?.AsArray();
        if (architectures is null || architectures.Count == 0 || architectures[0]?.GetValue<string>() != "LlamaForCausalLM")
        {
            throw new PublishException("config.json does not describe a LlamaForCausalLM");
        }

        return new ModelFacts(Int("vocab_size"), Int("hidden_size"), Int("num_hidden_layers"), Int("num_attention_heads"),
            node["num_key_value_heads"]?.GetValue<int>() ?? Int("num_attention_heads"), Int("max_position_embeddings"), Int("bos_token_id"), Int("eos_token_id"));
    }

    /// <summary>The end-of-document token's text: the added token whose id is eos_token_id (the model's special tokens are the tokenizer's added tokens).</summary>
    private static string EndOfDocumentToken(byte[] tokenizer, int eosId, out List<AddedToken> added)
    {
        TokenizerFile? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<TokenizerFile>(tokenizer);
        }
        catch (JsonException e)
        {
            throw new PublishException($"tokenizer.json is not valid JSON: {e.Message}");
        }

        added = parsed?.AddedTokens is { } tokens ? [.. tokens] : [];
        foreach (var token in added)
        {
            if (token.Id == eosId && !string.IsNullOrEmpty(token.Content))
            {
                return token.Content;
            }
        }

        throw new PublishException($"tokenizer.json has no added token with id {eosId} (the model's eos_token_id)");
    }

    /// <summary>model.safetensors, or the shards a model.safetensors.index.json names; each header is checked to be safetensors with HF Llama names.</summary>
    private static List<string> WeightFiles(string checkpoint)
    {
        var files = new List<string>();
        var indexPath = Path.Combine(checkpoint, "model.safetensors.index.json");
        if (File.Exists(indexPath))
        {
            files.Add("model.safetensors.index.json");
            var map = JsonNode.Parse(File.ReadAllBytes(indexPath))?["weight_map"]?.AsObject() ?? throw new PublishException("model.safetensors.index.json has no weight_map");
            foreach (var (_, file) in map)
            {
                var name = file?.GetValue<string>();
                if (!SafeName.IsValid(name))
                {
                    throw new PublishException($"model.safetensors.index.json names an unsafe file '{name}'");
                }

                if (!files.Contains(name!))
                {
                    files.Add(name!);
                }
            }
        }
        else
        {
            files.Add("model.safetensors");
        }

        var embeddings = false;
        foreach (var file in files)
        {
            if (file.EndsWith(".safetensors", StringComparison.Ordinal))
            {
                embeddings |= SafetensorsHeaderHas(Path.Combine(checkpoint, file), "model.embed_tokens.weight");
            }
        }

        return embeddings ? files : throw new PublishException("the checkpoint's weights have no model.embed_tokens.weight: not an HF Llama checkpoint");
    }

    private static bool SafetensorsHeaderHas(string path, string tensor)
    {
        if (!File.Exists(path))
        {
            throw new PublishException($"the checkpoint has no {Path.GetFileName(path)}");
        }

        using var file = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        file.ReadExactly(length);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength == 0 || headerLength > 100_000_000 || headerLength > (ulong)(file.Length - 8))
        {
            throw new PublishException($"{Path.GetFileName(path)} is not a safetensors file (header length {headerLength})");
        }

        var header = new byte[(int)headerLength];
        file.ReadExactly(header);
        try
        {
            return JsonNode.Parse(header) is JsonObject tensors && tensors.ContainsKey(tensor);
        }
        catch (JsonException)
        {
            throw new PublishException($"{Path.GetFileName(path)} has a header that is not JSON");
        }
    }

    private void PlaceWeights(string source, string target)
    {
        // Checkpoints are immutable once COMPLETE (trainers write new folders), so a hard link is a safe copy.
        if (options.Value.LinkWeights && !OperatingSystem.IsWindows() && Link(source, target) == 0)
        {
            return;
        }

        File.Copy(source, target);
    }

    private static async Task WriteJsonAsync(string path, JsonObject content, CancellationToken cancellationToken) =>
        await File.WriteAllTextAsync(path, content.ToJsonString(Indented) + "\n", new UTF8Encoding(false), cancellationToken);

    private static List<RevisionEntry> ReadIndex(string path)
    {
        var entries = new List<RevisionEntry>();
        if (!File.Exists(path))
        {
            return entries;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > 0 && JsonSerializer.Deserialize<RevisionEntry>(line) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>Appending in place could leave half a line after a crash; the small index is rewritten whole and renamed instead.</summary>
    private static void AppendLineAtomically(string path, string line)
    {
        var existing = File.Exists(path) ? File.ReadAllBytes(path) : [];
        var added = Encoding.UTF8.GetBytes(line + "\n");
        var all = new byte[existing.Length + added.Length];
        existing.CopyTo(all, 0);
        added.CopyTo(all, existing.Length);
        AtomicFile.Write(path, all);
    }


    private static void FlushFolder(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.FlushToDisk(handle);
        }
    }

    /// <summary>One publisher per repository at a time, across processes (an exclusive lock on a file).</summary>
    private async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.Value.LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);

    private sealed record RevisionEntry
    {
        [JsonPropertyName("revision")] public required string Revision { get; init; }
        [JsonPropertyName("run")] public required string Run { get; init; }
        [JsonPropertyName("stage")] public required string Stage { get; init; }
        [JsonPropertyName("step")] public required long Step { get; init; }
        [JsonPropertyName("checkpoint")] public required string Checkpoint { get; init; }
        [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }
    }

    private sealed record TokenizerFile
    {
        [JsonPropertyName("added_tokens")] public List<AddedToken>? AddedTokens { get; init; }
    }

    private sealed record AddedToken
    {
        [JsonPropertyName("id")] public int Id { get; init; }
        [JsonPropertyName("content")] public string? Content { get; init; }
        [JsonPropertyName("single_word")] public bool SingleWord { get; init; }
        [JsonPropertyName("lstrip")] public bool Lstrip { get; init; }
        [JsonPropertyName("rstrip")] public bool Rstrip { get; init; }
        [JsonPropertyName("normalized")] public bool Normalized { get; init; }
        [JsonPropertyName("special")] public bool Special { get; init; }
    }
}

/// <summary>A failure whose message is the whole story (the reason PublishFailed carries).</summary>
internal sealed class PublishException(string message) : Exception(message);
