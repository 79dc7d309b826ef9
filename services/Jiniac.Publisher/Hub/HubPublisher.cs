using System.Globalization;
using System.Net;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.Hosting;
using Jiniac.HubServer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Publisher.Hub;

/// <summary>
/// Publishes a checkpoint as a commit on a hub's main through the Hub protocol, then points the stage's
/// branch at it. Idempotent: the commit's description carries a <c>Jiniac-Checkpoint: run/stage/step</c>
/// line, and main's history is searched for it before anything is uploaded, so the same checkpoint never
/// makes a second commit (a replay, a redelivered message, a run continued after a crash).
/// </summary>
public sealed class HubPublisher(
    ModelExporter exporter,
    LocalHubs localHubs,
    HttpClient http,
    IOptions<PublisherOptions> options,
    StatePaths paths,
    TimeProvider time,
    ILogger<HubPublisher> logger)
{
    public const string MarkerKey = "Jiniac-Checkpoint";
    private const string Main = "main";

    public static string Marker(PublishModel message) => $"{MarkerKey}: {message.RunId}/{message.Stage}/{message.Step.ToString(CultureInfo.InvariantCulture)}";

    public async Task<PublishedRevision> PublishAsync(PublishModel message, CancellationToken cancellationToken)
    {
        var repo = RepoId.Parse(message.Target.Repo);
        var target = await TargetAsync(message.Target, cancellationToken);
        var client = new HubClient(http, target.Connection, new HubClientOptions
        {
            MaxAttempts = options.Value.HubMaxAttempts,
            FirstRetryDelay = options.Value.HubFirstRetryDelay,
            MaxRetryDelay = options.Value.HubMaxRetryDelay,
            // Outside the repo's folder, which holds only finished revisions; kept across restarts so a publish resumes.
            PartJournal = Path.Combine(paths.Root, "publish", ".lfs-parts", repo.Owner, repo.Name),
        }, time, logger);

        var staging = Path.Combine(paths.Root, "publish", repo.Owner, repo.Name, $".export-{Guid.NewGuid():N}");
        try
        {
            await exporter.ExportAsync(message, repo, staging, cancellationToken);
            var files = new List<UploadFile>();
            foreach (var file in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                files.Add(new UploadFile(Path.GetRelativePath(staging, file).Replace(Path.DirectorySeparatorChar, '/'), file, new FileInfo(file).Length,
                    await HubClient.Sha256Async(file, cancellationToken)));
            }

            var marker = Marker(message);
            await client.CreateRepoAsync(repo, isPrivate: false, cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                var history = await client.CommitsAsync(repo, Main, cancellationToken);
                var done = history.FirstOrDefault(c => c.Message.Split('\n').Any(line => line.Trim() == marker));
                if (done is not null)
                {
                    await BranchAsync(client, repo, message, done.Id, overwrite: false, cancellationToken);
                    return Finish(repo, target, staging, done.Id, created: false);
                }

                var head = await client.RevisionShaAsync(repo, Main, cancellationToken) ?? throw new PublishException($"{repo} has no {Main} branch");
                var lfs = await client.PreuploadAsync(repo, Main, files, cancellationToken);
                var uploaded = await client.UploadLfsAsync(repo, Main, [.. files.Where(f => lfs.Contains(f.PathInRepo))], cancellationToken);
                var ours = files.Select(f => f.PathInRepo).ToHashSet(StringComparer.Ordinal);
                // A commit changes its parent's tree: files of an earlier export (say, shards of another layout) must go explicitly.
                var stale = (await client.TreeAsync(repo, head, cancellationToken))
                    .Where(e => e.Type == "file" && e.Path != ".gitattributes" && !ours.Contains(e.Path)).Select(e => e.Path).ToList();
                string commit;
                try
                {
                    commit = await client.CommitAsync(repo, Main, $"Publish {message.Stage} step {message.Step.ToString(CultureInfo.InvariantCulture)}",
                        Description(message, marker), head, files, lfs, stale, cancellationToken);
                }
                catch (HubException e) when (e.Status is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed && attempt < 3)
                {
                    HubLog.MainMoved(logger, repo.ToString(), e.Message);
                    continue;
                }

                HubLog.Committed(logger, repo.ToString(), commit, files.Count, uploaded, stale.Count);
                await BranchAsync(client, repo, message, commit, overwrite: true, cancellationToken);
                return Finish(repo, target, staging, commit, created: true);
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>The stage's branch follows the stage's latest published checkpoint; a commit found again only gets a missing branch made.</summary>
    private static async Task BranchAsync(HubClient client, RepoId repo, PublishModel message, string commit, bool overwrite, CancellationToken cancellationToken)
    {
        if (message.Target.StageBranches && !string.Equals(message.Stage, Main, StringComparison.OrdinalIgnoreCase))
        {
            await client.CreateBranchAsync(repo, message.Stage, commit, overwrite, cancellationToken);
        }
    }

    private static string Description(PublishModel message, string marker) =>
        $"Run {message.RunId}, stage {message.Stage}, checkpoint at step {message.Step.ToString(CultureInfo.InvariantCulture)}.\n\n{marker}\n";

    /// <summary>The local hub's own revision folder; for a remote hub the export is kept under the state folder instead.</summary>
    private PublishedRevision Finish(RepoId repo, Target target, string staging, string commit, bool created)
    {
        if (target.Local is { } local)
        {
            return new PublishedRevision(repo.ToString(), commit, local.Store.RevisionFolder(repo.ToString(), commit), created);
        }

        var kept = Path.Combine(paths.Root, "publish", repo.Owner, repo.Name, commit);
        if (!Directory.Exists(kept))
        {
            Directory.Move(staging, kept);
        }

        return new PublishedRevision(repo.ToString(), commit, kept, created);
    }

    private async Task<Target> TargetAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        var endpoint = spec.Endpoint ?? options.Value.Endpoint;
        if (endpoint is null)
        {
            var (server, connection) = await localHubs.GetAsync(spec.HubDir ?? paths.Hub, cancellationToken);
            return new Target(connection, server);
        }

        if (!Uri.TryCreate(endpoint.EndsWith('/') ? endpoint : endpoint + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new PublishException($"hub endpoint '{endpoint}' is not an http(s) URL");
        }

        return new Target(new HubConnection(uri, await TokenAsync(spec, cancellationToken)), null);
    }

    /// <summary>
    /// The pipeline's token_file, else its token_secret, else Publisher:TokenFile, else Publisher:TokenSecretStore/TokenSecretKey,
    /// else $HF_TOKEN; the token is read at publish time and kept only in the request header.
    /// </summary>
    private async Task<string?> TokenAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        var tokenFile = spec.TokenFile ?? (spec.TokenSecret is null ? options.Value.TokenFile : null);
        if (tokenFile is not null)
        {
            if (!File.Exists(tokenFile))
            {
                throw new PublishException($"token file '{tokenFile}' does not exist");
            }

            var token = (await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim();
            return token.Length > 0 ? token : throw new PublishException($"token file '{tokenFile}' is empty");
        }

        var secret = spec.TokenSecret ?? (options.Value.TokenSecretStore is { } store ? new DaprSecretSpec { Store = store, Key = options.Value.TokenSecretKey! } : null);
        if (secret is not null)
        {
            return await DaprTokenSecret.ReadAsync(secret, options.Value, cancellationToken);
        }

        return Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } fromEnv ? fromEnv.Trim() : null;
    }

    private sealed record Target(HubConnection Connection, LocalHubServer? Local);
}
