using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Jiniac.Publisher.Hub;

/// <summary>Where a hub is and the token for it. ToString never shows the token.</summary>
public sealed record HubConnection(Uri Endpoint, string? Token)
{
    public override string ToString() => $"{Endpoint} ({(Token is null ? "no token" : "token set")})";
}

public sealed class HubClientOptions
{
    /// <summary>Attempts per request (429, 5xx and connection failures are retried).</summary>
    public int MaxAttempts { get; init; } = 6;
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// A folder for the resume journal of multipart uploads (the ETag of each part stored); null = none. The Hub's
    /// protocol gives a client no way to ask which parts it holds, so a resumed upload sends only the parts this
    /// journal lacks, under the same completion URL (the same multipart upload) and chunk size.
    /// </summary>
    public string? PartJournal { get; init; }
}

/// <summary>A file to upload: its path in the repository and its bytes on disk.</summary>
public sealed record UploadFile(string PathInRepo, string LocalPath, long Size, string Sha256);

public sealed record HubTreeEntry(string Path, string Type, long Size, string Oid, string? LfsOid);

public sealed record HubCommitInfo(string Id, string Title, string Message);

/// <summary>A hub answer that is an error (after retries). The message never holds the token.</summary>
public sealed class HubException(string message, HttpStatusCode? status) : Exception(message)
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>
/// The Hugging Face Hub's upload protocol (reference/hf-hub-upload-api.md), as <c>huggingface_hub</c>'s
/// <c>create_commit</c> speaks it: repo create, preupload, LFS batch (basic and multipart), NDJSON commit,
/// branches and tags; plus the reads a publisher needs (revision, tree, commits). Every request is retried
/// on 429/5xx/connection failures with exponential back-off on the <see cref="TimeProvider"/>, honouring
/// Retry-After. Each LFS part is its own request, so a failed part is retried alone, and objects the hub
/// already has are skipped, so a publish that died half way resumes where it stopped.
/// </summary>
public sealed partial class HubClient(HttpClient http, HubConnection connection, HubClientOptions options, TimeProvider time, ILogger logger)
{
    private const string LfsJson = "application/vnd.git-lfs+json";

    public HubConnection Connection => connection;

    public async Task<string> WhoAmIAsync(CancellationToken cancellationToken)
    {
        var json = await SendJsonAsync(() => Api(HttpMethod.Get, "api/whoami-v2"), cancellationToken);
        return json?["name"]?.GetValue<string>() ?? throw new HubException("whoami answered without a name", null);
    }

    /// <summary>Creates the model repository; false when it already existed (409).</summary>
    public async Task<bool> CreateRepoAsync(RepoId repo, bool isPrivate, CancellationToken cancellationToken)
    {
        var (status, _) = await SendAsync(() => Api(HttpMethod.Post, "api/repos/create",
            new JsonObject { ["name"] = repo.Name, ["organization"] = repo.Owner, ["type"] = "model", ["private"] = isPrivate }), cancellationToken, HttpStatusCode.Conflict);
        return status != HttpStatusCode.Conflict;
    }

    /// <summary>The commit a revision names, or null when the revision does not exist.</summary>
    public async Task<string?> RevisionShaAsync(RepoId repo, string revision, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(() => Api(HttpMethod.Get, $"api/models/{repo}/revision/{Uri.EscapeDataString(revision)}"), cancellationToken, HttpStatusCode.NotFound);
        return status == HttpStatusCode.NotFound ? null : JsonNode.Parse(body)?["sha"]?.GetValue<string>();
    }

    public async Task<List<HubTreeEntry>> TreeAsync(RepoId repo, string revision, CancellationToken cancellationToken) =>
        [.. (await PagesAsync($"api/models/{repo}/tree/{Uri.EscapeDataString(revision)}?recursive=true", cancellationToken)).Select(item =>
            new HubTreeEntry(item["path"]!.GetValue<string>(), item["type"]!.GetValue<string>(), item["size"]?.GetValue<long>() ?? 0,
                item["oid"]?.GetValue<string>() ?? "", item["lfs"]?["oid"]?.GetValue<string>()))];

    /// <summary>The history of a revision, newest first.</summary>
    public async Task<List<HubCommitInfo>> CommitsAsync(RepoId repo, string revision, CancellationToken cancellationToken) =>
        [.. (await PagesAsync($"api/models/{repo}/commits/{Uri.EscapeDataString(revision)}", cancellationToken)).Select(item =>
            new HubCommitInfo(item["id"]!.GetValue<string>(), item["title"]?.GetValue<string>() ?? "", item["message"]?.GetValue<string>() ?? ""))];

    /// <summary>A listing the Hub pages with Link: rel="next" headers, all pages read.</summary>
    private async Task<List<JsonNode>> PagesAsync(string first, CancellationToken cancellationToken)
    {
        var items = new List<JsonNode>();
        for (var next = first; next is not null;)
        {
            var url = next;
            var (_, body, headers) = await SendWithHeadersAsync(() => Api(HttpMethod.Get, url), cancellationToken);
            items.AddRange((JsonNode.Parse(body)?.AsArray() ?? []).OfType<JsonNode>());
            next = NextLink(headers);
        }

        return items;
    }

    /// <summary>Asks which files must travel by LFS (≤ 256 per call); returns the LFS paths.</summary>
    public async Task<HashSet<string>> PreuploadAsync(RepoId repo, string revision, IReadOnlyList<UploadFile> files, CancellationToken cancellationToken)
    {
        var lfs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in files.Chunk(256))
        {
            var list = new JsonArray();
            foreach (var file in chunk)
            {
                list.Add(new JsonObject { ["path"] = file.PathInRepo, ["sample"] = Convert.ToBase64String(await SampleAsync(file.LocalPath, cancellationToken)), ["size"] = file.Size, ["sha"] = file.Sha256 });
            }

            var json = await SendJsonAsync(() => Api(HttpMethod.Post, $"api/models/{repo}/preupload/{Uri.EscapeDataString(revision)}", new JsonObject { ["files"] = list }), cancellationToken);
            foreach (var item in json?["files"]?.AsArray() ?? [])
            {
                if (item?["uploadMode"]?.GetValue<string>() == "lfs")
                {
                    lfs.Add(item["path"]!.GetValue<string>());
                }
            }
        }

        return lfs;
    }

    /// <summary>Uploads the LFS objects the hub lacks (basic or multipart, as the batch answer says); returns how many were sent.</summary>
    public async Task<int> UploadLfsAsync(RepoId repo, string revision, IReadOnlyList<UploadFile> files, CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var chunk in files.DistinctBy(f => f.Sha256).Chunk(100))
        {
            var objects = new JsonArray();
            foreach (var file in chunk)
            {
                objects.Add(new JsonObject { ["oid"] = file.Sha256, ["size"] = file.Size });
            }

            var body = new JsonObject
            {
                ["operation"] = "upload",
                ["transfers"] = new JsonArray("basic", "multipart"),
                ["objects"] = objects,
                ["hash_algo"] = "sha256",
                ["ref"] = new JsonObject { ["name"] = revision },
            };
            var answer = await SendJsonAsync(() =>
            {
                var request = Api(HttpMethod.Post, $"{repo}.git/info/lfs/objects/batch");
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(LfsJson);
                request.Headers.Accept.ParseAdd(LfsJson);
                return request;
            }, cancellationToken);
            var byOid = chunk.ToDictionary(f => f.Sha256, StringComparer.Ordinal);
            foreach (var item in answer?["objects"]?.AsArray() ?? [])
            {
                var oid = item?["oid"]?.GetValue<string>() ?? "";
                if (!byOid.TryGetValue(oid, out var file))
                {
                    throw new HubException($"the LFS batch answered for an object that was not asked for ({oid})", null);
                }

                if (item!["error"] is { } error)
                {
                    throw new HubException($"LFS batch refused {file.PathInRepo}: {error["message"]} ({error["code"]})", null);
                }

                var upload = item["actions"]?["upload"];
                if (upload is null)
                {
                    Log.LfsSkipped(logger, file.PathInRepo, oid);
                    continue;
                }

                var href = upload["href"]!.GetValue<string>();
                if (upload["header"]?["chunk_size"] is { } chunkSize)
                {
                    await UploadMultipartAsync(file, href, long.Parse(chunkSize.GetValue<string>(), CultureInfo.InvariantCulture), upload["header"]!.AsObject(), cancellationToken);
                }
                else
                {
                    await SendAsync(() => Storage(HttpMethod.Put, href, upload["header"]?.AsObject(), new StreamContent(File.OpenRead(file.LocalPath))), cancellationToken);
                }

                if (item["actions"]?["verify"]?["href"]?.GetValue<string>() is { } verify)
                {
                    await SendAsync(() =>
                    {
                        var request = Storage(HttpMethod.Post, verify, item["actions"]?["verify"]?["header"]?.AsObject(), null);
                        // The hub may hand the verify action its own Authorization header; only without one does our token go.
                        request.Headers.Authorization ??= Bearer();
                        request.Content = new StringContent(new JsonObject { ["oid"] = oid, ["size"] = file.Size }.ToJsonString(), Encoding.UTF8);
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue(LfsJson);
                        return request;
                    }, cancellationToken);
                }

                sent++;
            }
        }

        return sent;
    }

    /// <summary>One NDJSON commit: the header line, then one line per operation. Returns the new commit id.</summary>
    public async Task<string> CommitAsync(RepoId repo, string branch, string summary, string description, string? parentCommit,
        IReadOnlyList<UploadFile> files, IReadOnlySet<string> lfsPaths, IReadOnlyList<string> deletions, CancellationToken cancellationToken)
    {
        var lines = new StringBuilder();
        var header = new JsonObject { ["summary"] = summary, ["description"] = description };
        if (parentCommit is not null)
        {
            header["parentCommit"] = parentCommit;
        }

        lines.Append(new JsonObject { ["key"] = "header", ["value"] = header }.ToJsonString()).Append('\n');
        foreach (var file in files)
        {
            var value = lfsPaths.Contains(file.PathInRepo)
                ? new JsonObject { ["key"] = "lfsFile", ["value"] = new JsonObject { ["path"] = file.PathInRepo, ["algo"] = "sha256", ["oid"] = file.Sha256, ["size"] = file.Size } }
                : new JsonObject { ["key"] = "file", ["value"] = new JsonObject { ["content"] = Convert.ToBase64String(await File.ReadAllBytesAsync(file.LocalPath, cancellationToken)), ["path"] = file.PathInRepo, ["encoding"] = "base64" } };
            lines.Append(value.ToJsonString()).Append('\n');
        }

        foreach (var path in deletions)
        {
            lines.Append(new JsonObject { ["key"] = "deletedFile", ["value"] = new JsonObject { ["path"] = path } }.ToJsonString()).Append('\n');
        }

        var ndjson = lines.ToString();
        var json = await SendJsonAsync(() =>
        {
            var request = Api(HttpMethod.Post, $"api/models/{repo}/commit/{Uri.EscapeDataString(branch)}");
            request.Content = new StringContent(ndjson, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            return request;
        }, cancellationToken);
        return json?["commitOid"]?.GetValue<string>() ?? throw new HubException("the commit answer has no commitOid", null);
    }

    /// <summary>Creates a branch at a revision (moves it there with overwrite); false when it exists and overwrite is off.</summary>
    public async Task<bool> CreateBranchAsync(RepoId repo, string branch, string startingPoint, bool overwrite, CancellationToken cancellationToken)
    {
        var (status, _) = await SendAsync(() => Api(HttpMethod.Post, $"api/models/{repo}/branch/{Uri.EscapeDataString(branch)}",
            new JsonObject { ["startingPoint"] = startingPoint, ["overwrite"] = overwrite }), cancellationToken, HttpStatusCode.Conflict);
        return status != HttpStatusCode.Conflict;
    }

    public async Task<bool> CreateTagAsync(RepoId repo, string tag, string revision, CancellationToken cancellationToken)
    {
        var (status, _) = await SendAsync(() => Api(HttpMethod.Post, $"api/models/{repo}/tag/{Uri.EscapeDataString(revision)}",
            new JsonObject { ["tag"] = tag }), cancellationToken, HttpStatusCode.Conflict);
        return status != HttpStatusCode.Conflict;
    }

    private async Task UploadMultipartAsync(UploadFile file, string completion, long chunkSize, JsonObject header, CancellationToken cancellationToken)
    {
        var parts = header.Where(p => p.Key.All(char.IsAsciiDigit)).Select(p => (Number: int.Parse(p.Key, CultureInfo.InvariantCulture), Url: p.Value!.GetValue<string>())).OrderBy(p => p.Number).ToList();
        if (chunkSize <= 0 || chunkSize > int.MaxValue || parts.Count != (int)((file.Size + chunkSize - 1) / chunkSize))
        {
            throw new HubException($"the hub offered {parts.Count} parts of {chunkSize} bytes for {file.PathInRepo} ({file.Size} bytes)", null);
        }

        var journal = options.PartJournal is null ? null : new PartJournal(options.PartJournal, file.Sha256, completion, chunkSize);
        var stored = journal?.Read() ?? [];
        try
        {
            await UploadPartsAsync(file, completion, chunkSize, parts, stored, journal, cancellationToken);
        }
        catch (HubException e) when (stored.Count > 0 && e.Status == HttpStatusCode.BadRequest)
        {
            // The hub refused the journal's ETags (it dropped the upload's parts): forget them and send every part once more.
            Log.PartJournalRefused(logger, file.PathInRepo, stored.Count, e.Message);
            journal!.Delete();
            await UploadPartsAsync(file, completion, chunkSize, parts, new Dictionary<int, string>(), journal, cancellationToken);
        }

        journal?.Delete();
    }

    private async Task UploadPartsAsync(UploadFile file, string completion, long chunkSize, List<(int Number, string Url)> parts,
        IReadOnlyDictionary<int, string> stored, PartJournal? journal, CancellationToken cancellationToken)
    {
        var etags = new JsonArray();
        var buffer = ArrayPool<byte>.Shared.Rent((int)chunkSize);
        try
        {
            await using var source = new FileStream(file.LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
            foreach (var (number, url) in parts)
            {
                if (!stored.TryGetValue(number, out var etag))
                {
                    var offset = (number - 1) * chunkSize;
                    var length = (int)Math.Min(chunkSize, file.Size - offset);
                    source.Position = offset;
                    await source.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken);
                    var (_, _, headers) = await SendWithHeadersAsync(() => Storage(HttpMethod.Put, url, null, new ReadOnlyMemoryContent(buffer.AsMemory(0, length))), cancellationToken);
                    etag = headers.ETag?.ToString() ?? throw new HubException($"part {number} of {file.PathInRepo} was stored without an ETag", null);
                    journal?.Append(number, etag);
                }

                etags.Add(new JsonObject { ["partNumber"] = number, ["etag"] = etag });
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var done = new JsonObject { ["oid"] = file.Sha256, ["parts"] = etags }.ToJsonString();
        await SendAsync(() =>
        {
            var request = Storage(HttpMethod.Post, completion, null, new StringContent(done, Encoding.UTF8));
            request.Content!.Headers.ContentType = new MediaTypeHeaderValue(LfsJson);
            request.Headers.Accept.ParseAdd(LfsJson);
            return request;
        }, cancellationToken);
    }

    private HttpRequestMessage Api(HttpMethod method, string relative, JsonObject? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(connection.Endpoint, relative)) { Headers = { Authorization = Bearer() } };
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return request;
    }

    /// <summary>A storage URL (presigned by the hub): it carries its own authority, so no token goes to it.</summary>
    private static HttpRequestMessage Storage(HttpMethod method, string url, JsonObject? headers, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        foreach (var (key, value) in headers ?? [])
        {
            if (key != "chunk_size" && !key.All(char.IsAsciiDigit) && value is not null)
            {
                request.Headers.TryAddWithoutValidation(key, value.GetValue<string>());
            }
        }

        return request;
    }

    private AuthenticationHeaderValue? Bearer() => connection.Token is null ? null : new AuthenticationHeaderValue("Bearer", connection.Token);

    private async Task<JsonNode?> SendJsonAsync(Func<HttpRequestMessage> make, CancellationToken cancellationToken)
    {
        var (_, body) = await SendAsync(make, cancellationToken);
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw new HubException(Redact($"the hub answered with something that is not JSON: {e.Message}"), null);
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(Func<HttpRequestMessage> make, CancellationToken cancellationToken, HttpStatusCode? accepted = null)
    {
        var (status, body, _) = await SendWithHeadersAsync(make, cancellationToken, accepted);
        return (status, body);
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> SendWithHeadersAsync(Func<HttpRequestMessage> make, CancellationToken cancellationToken, HttpStatusCode? accepted = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = make();
            var what = $"{request.Method} {request.RequestUri?.AbsolutePath}";
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (attempt < options.MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                var wait = Backoff(attempt, null);
                Log.Retrying(logger, what, Redact(e.Message), attempt, wait);
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }
            catch (HttpRequestException e)
            {
                throw new HubException(Redact($"{what} failed after {attempt} attempts: {e.Message}"), null);
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.IsSuccessStatusCode || response.StatusCode == accepted)
                {
                    return (response.StatusCode, body, response.Headers);
                }

                var retryable = response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500;
                if (retryable && attempt < options.MaxAttempts)
                {
                    var wait = Backoff(attempt, response.Headers.RetryAfter);
                    Log.Retrying(logger, what, $"{(int)response.StatusCode} {response.ReasonPhrase}", attempt, wait);
                    await Task.Delay(wait, time, cancellationToken);
                    continue;
                }

                throw new HubException(Redact($"{what} answered {(int)response.StatusCode} {response.ReasonPhrase}{(attempt > 1 ? $" after {attempt} attempts" : "")}: {ErrorText(body)}"), response.StatusCode);
            }
        }
    }

    /// <summary>FirstRetryDelay·2^(attempt−1), at most MaxRetryDelay; a Retry-After the hub sends wins (within the same cap).</summary>
    private TimeSpan Backoff(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - time.GetUtcNow() : (TimeSpan?)null);
        if (wait is { } told && told > TimeSpan.Zero)
        {
            return told < options.MaxRetryDelay ? told : options.MaxRetryDelay;
        }

        var exponential = options.FirstRetryDelay * Math.Pow(2, attempt - 1);
        return exponential < options.MaxRetryDelay ? exponential : options.MaxRetryDelay;
    }

    private static string ErrorText(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject json && (json["error"] ?? json["message"]) is { } error)
            {
                return error.ToString();
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 300 ? body[..300] + "…" : body;
    }

    /// <summary>The token must never reach a log, an event or a journal: anything that could echo it is scrubbed.</summary>
    private string Redact(string text) =>
        string.IsNullOrEmpty(connection.Token) ? text : text.Replace(connection.Token, "***", StringComparison.Ordinal);

    private static string? NextLink(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var link in string.Join(",", values).Split(','))
        {
            var parts = link.Split(';');
            if (parts.Length > 1 && parts[1..].Any(p => p.Trim() is "rel=\"next\"" or "rel=next"))
            {
                return parts[0].Trim().Trim('<', '>');
            }
        }

        return null;
    }

    private static async Task<byte[]> SampleAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        var sample = new byte[(int)Math.Min(512, file.Length)];
        await file.ReadExactlyAsync(sample, cancellationToken);
        return sample;
    }

    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Hub request {Request} failed ({Reason}), attempt {Attempt}; retrying in {Delay}")]
        public static partial void Retrying(ILogger logger, string request, string reason, int attempt, TimeSpan delay);

        [LoggerMessage(21, LogLevel.Debug, "LFS object of {Path} ({Oid}) is already on the hub")]
        public static partial void LfsSkipped(ILogger logger, string path, string oid);

        [LoggerMessage(22, LogLevel.Warning, "the hub refused the {Parts} journaled parts of {Path} ({Reason}); sending every part again")]
        public static partial void PartJournalRefused(ILogger logger, string path, int parts, string reason);
    }
}

/// <summary>
/// The parts of one multipart upload already stored, as JSON lines <c>{"upload","chunk","part","etag"}</c> in
/// <c>{folder}/{oid}.parts.jsonl</c>. The upload is named by a hash of its completion URL (a capability, not written
/// down), so parts of another upload of the same object are never taken for this one's. A line torn by a crash is skipped.
/// </summary>
internal sealed class PartJournal(string folder, string oid, string completion, long chunkSize)
{
    private readonly string _path = Path.Combine(folder, oid + ".parts.jsonl");
    private readonly string _upload = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(completion)));

    public Dictionary<int, string> Read()
    {
        var parts = new Dictionary<int, string>();
        if (!File.Exists(_path))
        {
            return parts;
        }

        foreach (var line in File.ReadLines(_path))
        {
            try
            {
                var entry = JsonNode.Parse(line);
                if (entry?["upload"]?.GetValue<string>() == _upload && entry["chunk"]?.GetValue<long>() == chunkSize
                    && entry["part"]?.GetValue<int>() is { } part && entry["etag"]?.GetValue<string>() is { } etag)
                {
                    parts[part] = etag;
                }
            }
            catch (JsonException)
            {
                // The last line of a journal whose writer died mid-line.
            }
        }

        return parts;
    }

    public void Append(int part, string etag)
    {
        Directory.CreateDirectory(folder);
        var line = new JsonObject { ["upload"] = _upload, ["chunk"] = chunkSize, ["part"] = part, ["etag"] = etag }.ToJsonString() + "\n";
        using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Encoding.UTF8.GetBytes(line));
        stream.Flush(flushToDisk: true);
    }

    public void Delete() => File.Delete(_path);
}
