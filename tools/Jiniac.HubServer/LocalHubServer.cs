using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jiniac.HubServer;

public sealed class LocalHubServerOptions
{
    /// <summary>The folder the hub stores repositories in.</summary>
    public required string Root { get; init; }
    /// <summary>The bearer token every API call must carry; null = no authentication (read and write for anyone on loopback).</summary>
    public string? Token { get; init; }
    /// <summary>False = GET/HEAD need no token (a public repository on the Hub); writes always need it when Token is set.</summary>
    public bool ReadsNeedToken { get; init; } = true;
    /// <summary>The user whoami reports, and the owner of a repository created without an organization.</summary>
    public string User { get; init; } = "jiniac";
    /// <summary>0 = a free port.</summary>
    public int Port { get; init; }
    /// <summary>LFS objects at least this large are offered the multipart transfer.</summary>
    public long MultipartThreshold { get; init; } = 64L * 1024 * 1024;
    public long ChunkSize { get; init; } = 16L * 1024 * 1024;
    /// <summary>How long a write waits for another process holding the same repository.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// A local Hugging Face Hub on loopback: the endpoints of reference/hf-hub-upload-api.md that
/// <c>huggingface_hub</c> and <c>@huggingface/hub</c> use to create repositories, upload commits
/// (preupload, LFS batch with basic and multipart transfers, NDJSON commit), make branches and tags,
/// and read revisions back (revision info, tree, commits, resolve). Storage is <see cref="HubStore"/>.
/// </summary>
public sealed class LocalHubServer : IAsyncDisposable
{
    private const string LfsJson = "application/vnd.git-lfs+json";
    private readonly WebApplication _app;
    private readonly LocalHubServerOptions _options;
    private readonly byte[] _signingKey = RandomNumberGenerator.GetBytes(32);
    private int _basicUploads;
    private int _multipartUploads;

    private LocalHubServer(WebApplication app, LocalHubServerOptions options, HubStore store)
    {
        _app = app;
        _options = options;
        Store = store;
    }

    public HubStore Store { get; }

    /// <summary>LFS objects stored since start, by transfer: which one a client really used.</summary>
    public (int Basic, int Multipart) Uploads => (Volatile.Read(ref _basicUploads), Volatile.Read(ref _multipartUploads));

    /// <summary>The base URL, e.g. http://127.0.0.1:41234/ (a Uri of a root ends in a slash).</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<LocalHubServer> StartAsync(LocalHubServerOptions options, TimeProvider time, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Root);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            // Model shards are gigabytes; the LFS routes stream them to disk.
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var server = new LocalHubServer(app, options, new HubStore(options.Root, time, options.LockTimeout));
        server.Map(loggers?.CreateLogger<LocalHubServer>());
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private void Map(ILogger? logger)
    {
        var app = _app;
        app.Use(async (context, next) =>
        {
            try
            {
                if (!context.Request.Path.StartsWithSegments("/_lfs", StringComparison.Ordinal) && !Authorized(context.Request))
                {
                    await Error(context, 401, "Invalid credentials in Authorization header", null);
                    return;
                }

                await next(context);
            }
            catch (HubStoreException e)
            {
                await Error(context, e.Status, e.Message, e.Code);
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or BadHttpRequestException)
            {
                if (logger is not null)
                {
                    HubServerLog.BadRequest(logger, context.Request.Method, context.Request.Path.ToString(), e.Message);
                }

                await Error(context, 400, $"Bad request: {e.Message}", null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (logger is not null)
                {
                    HubServerLog.BadRequest(logger, context.Request.Method, context.Request.Path.ToString(), e.Message);
                }

                // The client retries a 5xx: a storage hiccup is worth another try.
                await Error(context, 500, $"storage failed: {e.Message}", null);
            }
        });

        app.MapGet("/api/whoami-v2", () => Results.Json(new JsonObject
        {
            ["type"] = "user",
            ["id"] = _options.User,
            ["name"] = _options.User,
            ["fullname"] = _options.User,
            ["orgs"] = new JsonArray(),
            ["auth"] = new JsonObject { ["type"] = "access_token", ["accessToken"] = new JsonObject { ["displayName"] = "local", ["role"] = "write" } },
        }));

        app.MapPost("/api/repos/create", async (HttpContext context) =>
        {
            var body = await ReadJsonAsync(context);
            var name = body["name"]?.GetValue<string>() ?? throw new HubStoreException(400, "name is required");
            var organization = body["organization"]?.GetValue<string>();
            var type = body["type"]?.GetValue<string>() ?? "model";
            if (type != "model")
            {
                throw new HubStoreException(400, $"this hub stores models only, not {type} repositories");
            }

            var repo = HubStore.CheckRepo(name.Contains('/') ? name : $"{organization ?? _options.User}/{name}");
            var url = $"{Endpoint}{repo}";
            if (!await Store.CreateRepoAsync(repo, body["private"]?.GetValue<bool>() ?? false, context.RequestAborted))
            {
                return Results.Json(new JsonObject { ["error"] = "You already created this model repo", ["url"] = url }, statusCode: 409);
            }

            return Results.Json(new JsonObject { ["url"] = url, ["name"] = repo, ["id"] = repo });
        });

        app.MapGet("/api/models/{owner}/{name}", (string owner, string name, HttpContext context) => RevisionInfo($"{owner}/{name}", "main"));
        app.MapGet("/api/models/{owner}/{name}/revision/{rev}", (string owner, string name, string rev) => RevisionInfo($"{owner}/{name}", rev));

        app.MapPost("/api/models/{owner}/{name}/preupload/{rev}", async (string owner, string name, string rev, HttpContext context) =>
        {
            var repo = $"{owner}/{name}";
            var head = Store.CommitAt(repo, rev);
            var body = await ReadJsonAsync(context);
            var patterns = LfsPatterns(body["gitAttributes"]?.GetValue<string>() ?? GitAttributesAt(repo, head));
            var files = body["files"]?.AsArray() ?? throw new HubStoreException(400, "files is required");
            if (files.Count > 256)
            {
                throw new HubStoreException(400, "at most 256 files per preupload call");
            }

            var answer = new JsonArray();
            foreach (var file in files)
            {
                var path = HubStore.CheckPath(file?["path"]?.GetValue<string>());
                var size = file!["size"]?.GetValue<long>() ?? throw new HubStoreException(400, $"{path}: size is required");
                var sample = Convert.FromBase64String(file["sample"]?.GetValue<string>() ?? "");
                var lfs = size > 0 && (patterns.Any(p => Matches(p, path)) || size >= HubStore.LfsSizeThreshold || sample.AsSpan().Contains((byte)0));
                var existing = head.Files.FirstOrDefault(f => f.Path == path);
                answer.Add(new JsonObject
                {
                    ["path"] = path,
                    ["uploadMode"] = lfs ? "lfs" : "regular",
                    ["shouldIgnore"] = false,
                    ["oid"] = existing?.GitOid,
                });
            }

            return Results.Json(new JsonObject { ["files"] = answer, ["commitOid"] = head.Oid });
        });

        app.MapPost("/{owner}/{name}.git/info/lfs/objects/batch", async (string owner, string name, HttpContext context) =>
        {
            var repo = $"{owner}/{name}";
            if (!Store.Exists(repo))
            {
                throw new HubStoreException(404, $"Repository {repo} not found", "RepoNotFound");
            }

            var body = await ReadJsonAsync(context);
            if (body["operation"]?.GetValue<string>() != "upload")
            {
                throw new HubStoreException(400, "only the upload operation is served");
            }

            var transfers = body["transfers"]?.AsArray().Select(t => t?.GetValue<string>()).ToList() ?? ["basic"];
            var multipartOk = transfers.Contains("multipart");
            var objects = new JsonArray();
            var usedMultipart = false;
            foreach (var item in body["objects"]?.AsArray() ?? [])
            {
                var oid = item?["oid"]?.GetValue<string>() ?? "";
                var size = item?["size"]?.GetValue<long>() ?? -1;
                var entry = new JsonObject { ["oid"] = oid, ["size"] = size, ["authenticated"] = true };
                if (!HubStore.IsSha256(oid) || size < 0)
                {
                    entry["error"] = new JsonObject { ["code"] = 422, ["message"] = $"'{oid}' of size {size} is not a sha256 oid and a size" };
                }
                else if (!Store.HasObject(repo, oid, size))
                {
                    // Stored objects get no actions: the client skips them.
                    var verify = new JsonObject { ["href"] = $"{Endpoint}{repo}.git/info/lfs/objects/verify" };
                    if (multipartOk && size >= _options.MultipartThreshold)
                    {
                        usedMultipart = true;
                        var header = new JsonObject { ["chunk_size"] = _options.ChunkSize.ToString(CultureInfo.InvariantCulture) };
                        var parts = (int)((size + _options.ChunkSize - 1) / _options.ChunkSize);
                        for (var part = 1; part <= parts; part++)
                        {
                            header[part.ToString(CultureInfo.InvariantCulture)] = UploadUrl(repo, oid, size, part.ToString(CultureInfo.InvariantCulture));
                        }

                        entry["actions"] = new JsonObject { ["upload"] = new JsonObject { ["href"] = UploadUrl(repo, oid, size, "complete"), ["header"] = header }, ["verify"] = verify };
                    }
                    else
                    {
                        entry["actions"] = new JsonObject { ["upload"] = new JsonObject { ["href"] = UploadUrl(repo, oid, size, null) }, ["verify"] = verify };
                    }
                }

                objects.Add(entry);
            }

            var answer = new JsonObject { ["transfer"] = usedMultipart ? "multipart" : "basic", ["objects"] = objects, ["hash_algo"] = "sha256" };
            return Results.Text(answer.ToJsonString(), LfsJson, Encoding.UTF8);
        });

        app.MapPost("/{owner}/{name}.git/info/lfs/objects/verify", async (string owner, string name, HttpContext context) =>
        {
            var body = await ReadJsonAsync(context);
            var oid = body["oid"]?.GetValue<string>() ?? "";
            var size = body["size"]?.GetValue<long>() ?? -1;
            return Store.HasObject($"{owner}/{name}", oid, size)
                ? Results.Text("{}", LfsJson, Encoding.UTF8)
                : Results.Json(new JsonObject { ["message"] = $"object {oid} of {size} bytes is not stored" }, statusCode: 404);
        });

        // Upload URLs are capabilities (signed), like the presigned storage URLs the Hub hands out: clients send no token to them.
        app.MapPut("/_lfs/{owner}/{name}/{oid}/{size:long}", async (string owner, string name, string oid, long size, string? sig, HttpContext context) =>
        {
            var repo = CheckSignature(owner, name, oid, size, null, sig);
            await Store.PutObjectAsync(repo, oid, size, context.Request.Body, context.RequestAborted);
            Interlocked.Increment(ref _basicUploads);
            return Results.Ok();
        });

        app.MapPut("/_lfs/{owner}/{name}/{oid}/{size:long}/{part:int}", async (string owner, string name, string oid, long size, int part, string? sig, HttpContext context) =>
        {
            var repo = CheckSignature(owner, name, oid, size, part.ToString(CultureInfo.InvariantCulture), sig);
            var etag = await Store.PutPartAsync(repo, oid, part, _options.ChunkSize, context.Request.Body, context.RequestAborted);
            context.Response.Headers.ETag = $"\"{etag}\"";
            return Results.Ok();
        });

        app.MapPost("/_lfs/{owner}/{name}/{oid}/{size:long}/complete", async (string owner, string name, string oid, long size, string? sig, HttpContext context) =>
        {
            var repo = CheckSignature(owner, name, oid, size, "complete", sig);
            var body = await ReadJsonAsync(context);
            if (body["oid"]?.GetValue<string>() != oid)
            {
                throw new HubStoreException(400, "the completion names another oid");
            }

            var parts = (body["parts"]?.AsArray() ?? []).Select(p => (p!["partNumber"]!.GetValue<int>(), p["etag"]?.GetValue<string>() ?? "")).ToList();
            await Store.CompleteMultipartAsync(repo, oid, size, parts, context.RequestAborted);
            Interlocked.Increment(ref _multipartUploads);
            return Results.Text("{}", LfsJson, Encoding.UTF8);
        });

        app.MapPost("/api/models/{owner}/{name}/commit/{rev}", async (string owner, string name, string rev, HttpContext context) =>
        {
            var repo = $"{owner}/{name}";
            string? summary = null, description = null, parent = null;
            var operations = new List<CommitOperation>();
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var number = 0;
            while (await reader.ReadLineAsync(context.RequestAborted) is { } line)
            {
                number++;
                if (line.Length == 0)
                {
                    continue;
                }

                var node = JsonNode.Parse(line)?.AsObject() ?? throw new HubStoreException(400, $"commit line {number} is not a JSON object");
                var value = node["value"]?.AsObject() ?? throw new HubStoreException(400, $"commit line {number} has no value");
                var path = value["path"]?.GetValue<string>();
                switch (node["key"]?.GetValue<string>())
                {
                    case "header":
                        summary = value["summary"]?.GetValue<string>();
                        description = value["description"]?.GetValue<string>();
                        parent = value["parentCommit"]?.GetValue<string>();
                        break;
                    case "file":
                        var encoding = value["encoding"]?.GetValue<string>() ?? "base64";
                        var content = value["content"]?.GetValue<string>() ?? "";
                        operations.Add(new AddRegularFile(HubStore.CheckPath(path), encoding == "base64" ? Convert.FromBase64String(content) : Encoding.UTF8.GetBytes(content)));
                        break;
                    case "lfsFile":
                        if (value["algo"]?.GetValue<string>() is { } algo && algo != "sha256")
                        {
                            throw new HubStoreException(400, $"commit line {number}: algo {algo} is not sha256");
                        }

                        operations.Add(new AddLfsFile(HubStore.CheckPath(path), value["oid"]?.GetValue<string>() ?? "", value["size"]?.GetValue<long>() ?? -1));
                        break;
                    case "deletedFile":
                        operations.Add(new DeleteFile(HubStore.CheckPath(path)));
                        break;
                    case "deletedFolder":
                        operations.Add(new DeleteFolder(HubStore.CheckPath(path?.TrimEnd('/'))));
                        break;
                    default:
                        throw new HubStoreException(400, $"commit line {number}: unknown key '{node["key"]}'");
                }
            }

            if (string.IsNullOrWhiteSpace(summary))
            {
                throw new HubStoreException(400, "the commit header has no summary");
            }

            var commit = await Store.CommitAsync(repo, Uri.UnescapeDataString(rev), summary, description ?? "", parent, operations, context.RequestAborted);
            return Results.Json(new JsonObject
            {
                ["success"] = true,
                ["commitOid"] = commit.Oid,
                ["commitUrl"] = $"{Endpoint}{repo}/commit/{commit.Oid}",
                ["commitMessage"] = commit.Summary,
                ["pullRequestUrl"] = null,
            });
        });

        app.MapPost("/api/models/{owner}/{name}/branch/{branch}", async (string owner, string name, string branch, HttpContext context) =>
        {
            var body = context.Request.ContentLength is 0 ? new JsonObject() : await ReadJsonAsync(context);
            if (body["emptyBranch"]?.GetValue<bool>() == true)
            {
                throw new HubStoreException(400, "empty branches are not served by this hub");
            }

            var created = await Store.CreateRefAsync($"{owner}/{name}", "heads", branch, body["startingPoint"]?.GetValue<string>() ?? "main",
                body["overwrite"]?.GetValue<bool>() ?? false, context.RequestAborted);
            return created ? Results.Json(new JsonObject()) : Results.Json(new JsonObject { ["error"] = $"Reference already exists: refs/heads/{branch}" }, statusCode: 409);
        });

        app.MapPost("/api/models/{owner}/{name}/tag/{rev}", async (string owner, string name, string rev, HttpContext context) =>
        {
            var body = await ReadJsonAsync(context);
            var tag = body["tag"]?.GetValue<string>() ?? throw new HubStoreException(400, "tag is required");
            var created = await Store.CreateRefAsync($"{owner}/{name}", "tags", tag, rev, overwrite: false, context.RequestAborted);
            return created ? Results.Json(new JsonObject()) : Results.Json(new JsonObject { ["error"] = $"Reference already exists: refs/tags/{tag}" }, statusCode: 409);
        });

        app.MapGet("/api/models/{owner}/{name}/refs", (string owner, string name) =>
        {
            var repo = $"{owner}/{name}";
            JsonArray Refs(string kind) => [.. Store.Refs(repo, kind).Select(r => (JsonNode)new JsonObject { ["name"] = r, ["ref"] = $"refs/{kind}/{r}", ["targetCommit"] = Store.Resolve(repo, r) })];
            return Results.Json(new JsonObject { ["branches"] = Refs("heads"), ["tags"] = Refs("tags"), ["converts"] = new JsonArray() });
        });

        app.MapGet("/api/models/{owner}/{name}/commits/{rev}", (string owner, string name, string rev) =>
            Results.Json(new JsonArray([.. Store.History($"{owner}/{name}", rev).Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Oid,
                ["title"] = c.Summary,
                ["message"] = c.Description,
                ["date"] = c.Date.ToString("O", CultureInfo.InvariantCulture),
                ["authors"] = new JsonArray(new JsonObject { ["user"] = _options.User }),
            })])));

        app.MapGet("/api/models/{owner}/{name}/tree/{rev}", (string owner, string name, string rev, bool? recursive) => Tree($"{owner}/{name}", rev, "", recursive ?? false));
        app.MapGet("/api/models/{owner}/{name}/tree/{rev}/{**path}", (string owner, string name, string rev, string path, bool? recursive) => Tree($"{owner}/{name}", rev, path, recursive ?? false));

        app.MapMethods("/{owner}/{name}/resolve/{rev}/{**path}", ["GET", "HEAD"], (string owner, string name, string rev, string path, HttpContext context) =>
        {
            var repo = $"{owner}/{name}";
            var commit = Store.CommitAt(repo, Uri.UnescapeDataString(rev));
            var file = commit.Files.FirstOrDefault(f => f.Path == path)
                ?? throw new HubStoreException(404, $"Entry not found: {path}", "EntryNotFound");
            context.Response.Headers["X-Repo-Commit"] = commit.Oid;
            if (file.Lfs)
            {
                context.Response.Headers["X-Linked-Size"] = file.Size.ToString(CultureInfo.InvariantCulture);
                context.Response.Headers["X-Linked-ETag"] = $"\"{file.Sha256}\"";
            }

            var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{(file.Lfs ? file.Sha256 : file.GitOid)}\"");
            return Results.File(Path.Combine(Store.RevisionFolder(repo, commit.Oid), path.Replace('/', Path.DirectorySeparatorChar)),
                "application/octet-stream", enableRangeProcessing: true, entityTag: etag);
        });
    }

    private IResult RevisionInfo(string repo, string rev)
    {
        var commit = Store.CommitAt(repo, Uri.UnescapeDataString(rev));
        return Results.Json(new JsonObject
        {
            ["_id"] = repo,
            ["id"] = repo,
            ["modelId"] = repo,
            ["sha"] = commit.Oid,
            ["lastModified"] = commit.Date.ToString("O", CultureInfo.InvariantCulture),
            ["private"] = false,
            ["siblings"] = new JsonArray([.. commit.Files.Select(f => (JsonNode)new JsonObject { ["rfilename"] = f.Path })]),
        });
    }

    private IResult Tree(string repo, string rev, string path, bool recursive)
    {
        var commit = Store.CommitAt(repo, Uri.UnescapeDataString(rev));
        var prefix = path.Length == 0 ? "" : path.TrimEnd('/') + "/";
        var entries = new JsonArray();
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        var any = prefix.Length == 0;
        foreach (var file in commit.Files)
        {
            if (!file.Path.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            any = true;
            var rest = file.Path[prefix.Length..];
            var slash = rest.IndexOf('/');
            if (!recursive && slash >= 0)
            {
                folders.Add(prefix + rest[..slash]);
                continue;
            }

            for (var at = rest.IndexOf('/'); recursive && at >= 0; at = rest.IndexOf('/', at + 1))
            {
                folders.Add(prefix + rest[..at]);
            }

            var entry = new JsonObject { ["type"] = "file", ["oid"] = file.GitOid, ["size"] = file.Size, ["path"] = file.Path };
            if (file.Lfs)
            {
                entry["lfs"] = new JsonObject { ["oid"] = file.Sha256, ["size"] = file.Size, ["pointerSize"] = Encoding.ASCII.GetByteCount(HubStore.LfsPointer(file.Sha256, file.Size)) };
            }

            entries.Add(entry);
        }

        if (!any)
        {
            throw new HubStoreException(404, $"Entry not found: {path}", "EntryNotFound");
        }

        foreach (var folder in folders)
        {
            entries.Add(new JsonObject { ["type"] = "directory", ["oid"] = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(commit.Oid + folder))), ["size"] = 0, ["path"] = folder });
        }

        return Results.Json(entries);
    }

    private string UploadUrl(string repo, string oid, long size, string? part)
    {
        var path = $"_lfs/{repo}/{oid}/{size.ToString(CultureInfo.InvariantCulture)}" + (part is null ? "" : "/" + part);
        return $"{Endpoint}{path}?sig={Sign(repo, oid, size, part)}";
    }

    private string Sign(string repo, string oid, long size, string? part) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_signingKey, Encoding.UTF8.GetBytes($"{repo}\n{oid}\n{size}\n{part}")));

    private string CheckSignature(string owner, string name, string oid, long size, string? part, string? sig)
    {
        var repo = HubStore.CheckRepo($"{owner}/{name}");
        var expected = Sign(repo, oid, size, part);
        if (sig is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sig), Encoding.ASCII.GetBytes(expected)))
        {
            throw new HubStoreException(403, "the upload URL's signature is not valid");
        }

        return repo;
    }

    private bool Authorized(HttpRequest request)
    {
        if (_options.Token is null || (!_options.ReadsNeedToken && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))))
        {
            return true;
        }

        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(_options.Token));
    }

    private string GitAttributesAt(string repo, HubCommit head) =>
        head.Files.Any(f => f.Path == ".gitattributes")
            ? File.ReadAllText(Path.Combine(Store.RevisionFolder(repo, head.Oid), ".gitattributes"))
            : "";

    private static List<string> LfsPatterns(string gitAttributes) =>
        [.. gitAttributes.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains("filter=lfs", StringComparison.Ordinal)).Select(l => l.Split(' ', 2)[0])];

    /// <summary>The .gitattributes patterns the Hub writes: "*.ext" (any folder) or an exact path.</summary>
    private static bool Matches(string pattern, string path) =>
        pattern.StartsWith("*.", StringComparison.Ordinal) ? path.EndsWith(pattern[1..], StringComparison.Ordinal) : path == pattern.TrimStart('/');

    private static async Task<JsonObject> ReadJsonAsync(HttpContext context) =>
        await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject
        ?? throw new HubStoreException(400, "the body is not a JSON object");

    private static async Task Error(HttpContext context, int status, string message, string? code)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        if (code is not null)
        {
            context.Response.Headers["X-Error-Code"] = code;
        }

        context.Response.Headers["X-Error-Message"] = Uri.EscapeDataString(message);
        await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = message }, context.RequestAborted);
    }
}

internal static partial class HubServerLog
{
    [LoggerMessage(1, LogLevel.Warning, "Local hub refused {Method} {Path}: {Reason}")]
    public static partial void BadRequest(ILogger logger, string method, string path, string reason);
}
