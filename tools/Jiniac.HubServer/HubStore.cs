using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jiniac.Hosting;

namespace Jiniac.HubServer;

/// <summary>A file of a commit's tree. GitOid is the git blob id the Hub reports (of the content, or of the LFS pointer).</summary>
public sealed record HubFile
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("gitOid")] public required string GitOid { get; init; }
    [JsonPropertyName("lfs")] public required bool Lfs { get; init; }
}

public sealed record HubCommit
{
    [JsonPropertyName("oid")] public required string Oid { get; init; }
    [JsonPropertyName("parent")] public string? Parent { get; init; }
    [JsonPropertyName("summary")] public required string Summary { get; init; }
    [JsonPropertyName("description")] public required string Description { get; init; }
    [JsonPropertyName("date")] public required DateTimeOffset Date { get; init; }
    [JsonPropertyName("files")] public required IReadOnlyList<HubFile> Files { get; init; }
}

/// <summary>One operation line of an NDJSON commit, decoded.</summary>
public abstract record CommitOperation(string Path);
public sealed record AddRegularFile(string Path, byte[] Content) : CommitOperation(Path);
public sealed record AddLfsFile(string Path, string Oid, long Size) : CommitOperation(Path);
public sealed record DeleteFile(string Path) : CommitOperation(Path);
public sealed record DeleteFolder(string Path) : CommitOperation(Path);

/// <summary>A refusal with the HTTP status and X-Error-Code the Hub would answer with.</summary>
public sealed class HubStoreException(int status, string message, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Code { get; } = code;
}

/// <summary>
/// The hub's storage. Per repository <c>{root}/{owner}/{name}/</c>:
/// <c>revisions/{commit}/</c> every commit's whole tree as a browsable folder (unchanged files and LFS objects
/// hard-linked, so a revision costs only what changed), <c>refs/heads/{branch}</c> and <c>refs/tags/{tag}</c>
/// hold commit ids, <c>commits/{commit}.json</c> the commit, <c>revisions.jsonl</c> one line per commit,
/// <c>lfs/objects/{sha256}</c> the LFS objects. Every write goes temp + rename; a ref moves last.
/// </summary>
public sealed partial class HubStore(string root, TimeProvider time, TimeSpan? lockTimeout = null)
{
    public const string GitAttributes = """
        *.7z filter=lfs diff=lfs merge=lfs -text
        *.arrow filter=lfs diff=lfs merge=lfs -text
        *.bin filter=lfs diff=lfs merge=lfs -text
        *.bz2 filter=lfs diff=lfs merge=lfs -text
        *.ckpt filter=lfs diff=lfs merge=lfs -text
        *.gguf filter=lfs diff=lfs merge=lfs -text
        *.gz filter=lfs diff=lfs merge=lfs -text
        *.h5 filter=lfs diff=lfs merge=lfs -text
        *.msgpack filter=lfs diff=lfs merge=lfs -text
        *.npy filter=lfs diff=lfs merge=lfs -text
        *.npz filter=lfs diff=lfs merge=lfs -text
        *.onnx filter=lfs diff=lfs merge=lfs -text
        *.parquet filter=lfs diff=lfs merge=lfs -text
        *.pt filter=lfs diff=lfs merge=lfs -text
        *.pth filter=lfs diff=lfs merge=lfs -text
        *.safetensors filter=lfs diff=lfs merge=lfs -text
        *.tar filter=lfs diff=lfs merge=lfs -text
        *.zip filter=lfs diff=lfs merge=lfs -text
        *.zst filter=lfs diff=lfs merge=lfs -text

        """;

    /// <summary>The Hub sends files of 10 MB and more through LFS even when no .gitattributes pattern says so.</summary>
    public const long LfsSizeThreshold = 10 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions OneLine = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public string Root { get; } = Path.GetFullPath(root);

    public string RepoFolder(string repo) => Path.Combine(Root, CheckRepo(repo).Replace('/', Path.DirectorySeparatorChar));

    public string RevisionFolder(string repo, string commit) => Path.Combine(RepoFolder(repo), "revisions", commit);

    public bool Exists(string repo) => File.Exists(Path.Combine(RepoFolder(repo), "repo.json"));

    /// <summary>Creates the repository with the Hub's initial commit (a .gitattributes) on main; false when it exists.</summary>
    public async Task<bool> CreateRepoAsync(string repo, bool isPrivate, CancellationToken cancellationToken)
    {
        var dir = RepoFolder(repo);
        using var held = await HoldAsync(repo, cancellationToken);
        if (Exists(repo))
        {
            return false;
        }

        Directory.CreateDirectory(dir);
        var initial = await WriteCommitAsync(repo, null, [], "initial commit", "", [new AddRegularFile(".gitattributes", Encoding.UTF8.GetBytes(GitAttributes))], cancellationToken);
        WriteRef(repo, "heads", "main", initial.Oid);
        AtomicFile.Write(Path.Combine(dir, "repo.json"), JsonSerializer.SerializeToUtf8Bytes(new { id = repo, @private = isPrivate, created = time.GetUtcNow() }, Json));
        return true;
    }

    /// <summary>A branch, tag or full commit id to a commit id; null when none matches.</summary>
    public string? Resolve(string repo, string revision)
    {
        RequireRepo(repo);
        if (SafeName.IsValid(revision))
        {
            foreach (var kind in (string[])["heads", "tags"])
            {
                var file = Path.Combine(RepoFolder(repo), "refs", kind, revision);
                if (File.Exists(file))
                {
                    return File.ReadAllText(file).Trim();
                }
            }
        }

        return IsCommitId(revision) && File.Exists(CommitFile(repo, revision)) ? revision : null;
    }

    public HubCommit ReadCommit(string repo, string commit) =>
        JsonSerializer.Deserialize<HubCommit>(File.ReadAllBytes(CommitFile(repo, commit)))
        ?? throw new HubStoreException(500, $"commit {commit} of {repo} is unreadable");

    public HubCommit CommitAt(string repo, string revision) =>
        Resolve(repo, revision) is { } commit ? ReadCommit(repo, commit)
        : throw new HubStoreException(404, $"Invalid rev id: {revision}", "RevisionNotFound");

    /// <summary>The history of a revision, newest first.</summary>
    public List<HubCommit> History(string repo, string revision)
    {
        var history = new List<HubCommit>();
        for (string? at = CommitAt(repo, revision).Oid; at is not null;)
        {
            var commit = ReadCommit(repo, at);
            history.Add(commit);
            at = commit.Parent;
        }

        return history;
    }

    public bool HasObject(string repo, string oid, long size)
    {
        var path = ObjectFile(repo, oid);
        return File.Exists(path) && new FileInfo(path).Length == size;
    }

    public string ObjectFile(string repo, string oid) =>
        IsSha256(oid) ? Path.Combine(RepoFolder(repo), "lfs", "objects", oid) : throw new HubStoreException(400, $"'{oid}' is not a sha256 oid");

    /// <summary>Stores an LFS object from a stream; the bytes must hash to the oid and have the announced size.</summary>
    public async Task PutObjectAsync(string repo, string oid, long size, Stream content, CancellationToken cancellationToken)
    {
        var target = ObjectFile(repo, oid);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            var (length, actual) = await CopyHashingAsync(content, temp, cancellationToken);
            MoveVerified(temp, target, oid, size, length, actual);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public string PartFile(string repo, string oid, int part) =>
        part is >= 1 and <= 10_000 ? Path.Combine(IncomingFolder(repo, oid), part.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) + ".sha256")
        : throw new HubStoreException(400, $"part {part} is out of range");

    private string IncomingFolder(string repo, string oid) => Path.Combine(RepoFolder(repo), "lfs", "incoming", CheckSha(oid));

    /// <summary>
    /// Stores one part of a multipart upload straight at its place in the object's file (parts may come in
    /// parallel and in any order); the ETag is the part's SHA-256, kept beside it for the completion.
    /// </summary>
    public async Task<string> PutPartAsync(string repo, string oid, int part, long chunkSize, Stream content, CancellationToken cancellationToken)
    {
        var hashFile = PartFile(repo, oid, part);
        Directory.CreateDirectory(Path.GetDirectoryName(hashFile)!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var file = new FileStream(Path.Combine(IncomingFolder(repo, oid), "data"), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, 1 << 16, useAsync: true))
        {
            file.Position = (part - 1) * chunkSize;
            var length = await CopyAsync(content, file, hash, cancellationToken);
            if (length > chunkSize)
            {
                throw new HubStoreException(400, $"part {part} of {oid} is {length} bytes, the chunk size is {chunkSize}");
            }

            await file.FlushAsync(cancellationToken);
        }

        var etag = Convert.ToHexStringLower(hash.GetHashAndReset());
        AtomicFile.Write(hashFile, Encoding.ASCII.GetBytes(etag));
        return etag;
    }

    /// <summary>Completes a multipart upload: every part was stored with the ETag the client names, and the whole hashes to the oid.</summary>
    public async Task CompleteMultipartAsync(string repo, string oid, long size, IReadOnlyList<(int Part, string ETag)> parts, CancellationToken cancellationToken)
    {
        var target = ObjectFile(repo, oid);
        if (HasObject(repo, oid, size))
        {
            return;
        }

        var expected = 1;
        foreach (var (part, etag) in parts.OrderBy(p => p.Part))
        {
            if (part != expected++)
            {
                throw new HubStoreException(400, $"multipart upload of {oid}: part {expected - 1} is missing");
            }

            var path = PartFile(repo, oid, part);
            if (!File.Exists(path))
            {
                throw new HubStoreException(400, $"multipart upload of {oid}: part {part} was not uploaded");
            }

            if (!string.Equals(etag.Trim('"'), await File.ReadAllTextAsync(path, cancellationToken), StringComparison.OrdinalIgnoreCase))
            {
                throw new HubStoreException(400, $"multipart upload of {oid}: part {part}'s etag does not match the stored part");
            }
        }

        var data = Path.Combine(IncomingFolder(repo, oid), "data");
        if (!File.Exists(data))
        {
            throw new HubStoreException(400, $"multipart upload of {oid}: no part was uploaded");
        }

        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length;
        await using (var file = new FileStream(data, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        {
            length = await CopyAsync(file, Stream.Null, whole, cancellationToken);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        MoveVerified(data, target, oid, size, length, Convert.ToHexStringLower(whole.GetHashAndReset()));
        Directory.Delete(IncomingFolder(repo, oid), recursive: true);
    }

    /// <summary>Applies the operations to the branch's head tree as one commit and moves the branch.</summary>
    public async Task<HubCommit> CommitAsync(string repo, string branch, string summary, string description, string? parentCommit,
        IReadOnlyList<CommitOperation> operations, CancellationToken cancellationToken)
    {
        using var held = await HoldAsync(repo, cancellationToken);
        RequireRepo(repo);
        var refFile = Path.Combine(RepoFolder(repo), "refs", "heads", SafeName.IsValid(branch) ? branch : "\0");
        if (!SafeName.IsValid(branch) || !File.Exists(refFile))
        {
            throw new HubStoreException(404, $"Invalid rev id: {branch}", "RevisionNotFound");
        }

        var head = File.ReadAllText(refFile).Trim();
        if (parentCommit is not null && !string.Equals(parentCommit, head, StringComparison.Ordinal))
        {
            throw new HubStoreException(409, $"A commit has happened since {parentCommit}: {branch} is at {head}. Please refresh and try again.");
        }

        var commit = await WriteCommitAsync(repo, head, ReadCommit(repo, head).Files, summary, description, operations, cancellationToken);
        WriteRef(repo, "heads", branch, commit.Oid);
        return commit;
    }

    /// <summary>Creates (or with overwrite moves) a branch to a revision; false when it exists and overwrite is off.</summary>
    public async Task<bool> CreateRefAsync(string repo, string kind, string name, string startingPoint, bool overwrite, CancellationToken cancellationToken)
    {
        using var held = await HoldAsync(repo, cancellationToken);
        RequireRepo(repo);
        if (!SafeName.IsValid(name))
        {
            throw new HubStoreException(400, $"'{name}' is not a valid {(kind == "heads" ? "branch" : "tag")} name (letters, digits, '-', '_', '.')");
        }

        var target = CommitAt(repo, startingPoint).Oid;
        var file = Path.Combine(RepoFolder(repo), "refs", kind, name);
        if (File.Exists(file) && !overwrite)
        {
            return false;
        }

        WriteRef(repo, kind, name, target);
        return true;
    }

    public IEnumerable<string> Refs(string repo, string kind)
    {
        var dir = Path.Combine(RepoFolder(repo), "refs", kind);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal) : [];
    }

    /// <summary>A path inside a repository: '/'-separated segments, none empty, '.' or '..', no backslash or control characters.</summary>
    public static string CheckPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 1000 || path.Contains('\\') || path.Any(char.IsControl))
        {
            throw new HubStoreException(400, $"'{path}' is not a valid file path in a repository");
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment == ".git")
            {
                throw new HubStoreException(400, $"'{path}' is not a valid file path in a repository");
            }
        }

        return path;
    }

    public static string CheckRepo(string repo)
    {
        var slash = repo.IndexOf('/');
        if (slash <= 0 || slash != repo.LastIndexOf('/') || !SafeName.IsValid(repo[..slash]) || !SafeName.IsValid(repo[(slash + 1)..]))
        {
            throw new HubStoreException(400, $"'{repo}' is not a repository id of the form owner/name", "RepoNotFound");
        }

        return repo;
    }

    /// <summary>git's blob id: SHA-1 of "blob {size}\0" and the content.</summary>
    public static string GitBlobOid(ReadOnlySpan<byte> content)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {content.Length}\0"));
        sha1.AppendData(content);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>The git-lfs pointer file an LFS object stands for in the git tree.</summary>
    public static string LfsPointer(string oid, long size) => $"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n";

    public static bool IsSha256(string? oid) => oid is { Length: 64 } && oid.All(char.IsAsciiHexDigitLower);

    private static bool IsCommitId(string? oid) => oid is { Length: 40 } && oid.All(char.IsAsciiHexDigitLower);

    private static string CheckSha(string oid) => IsSha256(oid) ? oid : throw new HubStoreException(400, $"'{oid}' is not a sha256 oid");

    private void RequireRepo(string repo)
    {
        if (!Exists(repo))
        {
            throw new HubStoreException(404, $"Repository {repo} not found", "RepoNotFound");
        }
    }

    private string CommitFile(string repo, string commit) => Path.Combine(RepoFolder(repo), "commits", commit + ".json");

    private void WriteRef(string repo, string kind, string name, string commit)
    {
        var dir = Path.Combine(RepoFolder(repo), "refs", kind);
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, name), Encoding.ASCII.GetBytes(commit));
    }

    private async Task<HubCommit> WriteCommitAsync(string repo, string? parent, IReadOnlyList<HubFile> parentFiles, string summary, string description,
        IReadOnlyList<CommitOperation> operations, CancellationToken cancellationToken)
    {
        var dir = RepoFolder(repo);
        var files = new SortedDictionary<string, HubFile>(StringComparer.Ordinal);
        foreach (var file in parentFiles)
        {
            files[file.Path] = file;
        }

        var regular = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            var path = CheckPath(operation.Path);
            switch (operation)
            {
                case AddRegularFile add:
                    regular[path] = add.Content;
                    files[path] = new HubFile { Path = path, Size = add.Content.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(add.Content)), GitOid = GitBlobOid(add.Content), Lfs = false };
                    break;
                case AddLfsFile lfs:
                    if (!HasObject(repo, CheckSha(lfs.Oid), lfs.Size))
                    {
                        throw new HubStoreException(422, $"{path}: LFS object {lfs.Oid} of {lfs.Size} bytes was not uploaded");
                    }

                    regular.Remove(path);
                    files[path] = new HubFile { Path = path, Size = lfs.Size, Sha256 = lfs.Oid, GitOid = GitBlobOid(Encoding.ASCII.GetBytes(LfsPointer(lfs.Oid, lfs.Size))), Lfs = true };
                    break;
                case DeleteFile:
                    if (!files.Remove(path))
                    {
                        throw new HubStoreException(404, $"{path}: cannot delete a file that is not in the revision", "EntryNotFound");
                    }

                    regular.Remove(path);
                    break;
                case DeleteFolder:
                    foreach (var key in files.Keys.Where(k => k.StartsWith(path + "/", StringComparison.Ordinal)).ToList())
                    {
                        files.Remove(key);
                        regular.Remove(key);
                    }

                    break;
            }
        }

        // Same parent, message and tree, same id: a commit id is a content hash, as in git (the date stays out so runs reproduce).
        var listing = new StringBuilder();
        listing.Append("parent ").Append(parent ?? "").Append('\n').Append(summary).Append('\n').Append(description).Append('\n');
        foreach (var file in files.Values)
        {
            listing.Append(file.GitOid).Append(' ').Append(file.Size).Append(' ').Append(file.Path).Append('\n');
        }

        var oid = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
        var commit = new HubCommit { Oid = oid, Parent = parent, Summary = summary, Description = description, Date = time.GetUtcNow(), Files = [.. files.Values] };
        if (File.Exists(CommitFile(repo, oid)))
        {
            return ReadCommit(repo, oid);
        }

        var revisions = Path.Combine(dir, "revisions");
        var final = Path.Combine(revisions, oid);
        var temp = Path.Combine(revisions, $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var parentFolder = parent is null ? null : Path.Combine(revisions, parent);
            var parentByPath = parentFiles.ToDictionary(f => f.Path, StringComparer.Ordinal);
            foreach (var file in files.Values)
            {
                var target = Path.Combine(temp, file.Path.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (regular.TryGetValue(file.Path, out var bytes))
                {
                    await File.WriteAllBytesAsync(target, bytes, cancellationToken);
                }
                else if (file.Lfs)
                {
                    LinkOrCopy(ObjectFile(repo, file.Sha256), target);
                }
                else if (parentFolder is not null && parentByPath.TryGetValue(file.Path, out var same) && same == file)
                {
                    LinkOrCopy(Path.Combine(parentFolder, file.Path.Replace('/', Path.DirectorySeparatorChar)), target);
                }
                else
                {
                    throw new HubStoreException(500, $"{file.Path}: no content to place");
                }
            }

            if (Directory.Exists(final))
            {
                Directory.Delete(final, recursive: true);
            }

            Directory.Move(temp, final);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }

        Directory.CreateDirectory(Path.Combine(dir, "commits"));
        AtomicFile.Write(CommitFile(repo, oid), JsonSerializer.SerializeToUtf8Bytes(commit, Json));
        var line = JsonSerializer.SerializeToUtf8Bytes(new { commit = oid, parent, summary, date = commit.Date }, OneLine);
        var index = Path.Combine(dir, "revisions.jsonl");
        var existing = File.Exists(index) ? await File.ReadAllBytesAsync(index, cancellationToken) : [];
        AtomicFile.Write(index, [.. existing, .. line, (byte)'\n']);
        return commit;
    }

    /// <summary>Writes the stream to a new file, hashing on the way (one pass over the bytes).</summary>
    private static async Task<(long Length, string Sha256)> CopyHashingAsync(Stream content, string path, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length;
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            length = await CopyAsync(content, file, hash, cancellationToken);
            await file.FlushAsync(cancellationToken);
        }

        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static async Task<long> CopyAsync(Stream source, Stream target, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long length = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(), cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                length += read;
            }

            return length;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void MoveVerified(string temp, string target, string oid, long size, long length, string actual)
    {
        if (length != size)
        {
            throw new HubStoreException(400, $"LFS object {oid}: received {length} bytes, announced {size}");
        }

        if (!string.Equals(actual, oid, StringComparison.Ordinal))
        {
            throw new HubStoreException(400, $"LFS object {oid}: the bytes hash to {actual}");
        }

        File.Move(temp, target, overwrite: true);
    }

    /// <summary>
    /// One writer per repository: a semaphore within this process, and an exclusive lock on {repo}/.lock across
    /// processes (two hosts may serve the same hub folder), waited for up to the lock timeout.
    /// </summary>
    private async Task<IDisposable> HoldAsync(string repo, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(CheckRepo(repo), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var dir = RepoFolder(repo);
            Directory.CreateDirectory(dir);
            var deadline = time.GetUtcNow() + (lockTimeout ?? TimeSpan.FromMinutes(2));
            while (true)
            {
                try
                {
                    return new Release(gate, new FileStream(Path.Combine(dir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                }
                catch (IOException) when (time.GetUtcNow() < deadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
                }
                catch (IOException)
                {
                    throw new HubStoreException(503, $"{repo} is locked by another writer (another process serving this hub folder)");
                }
            }
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    private sealed class Release(SemaphoreSlim gate, FileStream held) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                held.Dispose();
                gate.Release();
            }
        }
    }

    /// <summary>Revision files and LFS objects never change once written, so a hard link is a safe copy.</summary>
    private static void LinkOrCopy(string source, string target)
    {
        if (!OperatingSystem.IsWindows() && Link(source, target) == 0)
        {
            return;
        }

        File.Copy(source, target);
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);
}
