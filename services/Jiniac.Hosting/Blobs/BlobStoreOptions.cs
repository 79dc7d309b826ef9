using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting.Blobs;

public enum BlobStoreKind
{
    /// <summary>Files under the state folder's blobs/ (the embedded topology's default).</summary>
    Folder,

    /// <summary>Azure Blob Storage (Azurite locally), shared by services on several machines.</summary>
    Azure,
}

/// <summary>Which blob store the services share: <c>Jiniac:Blobs</c> in configuration.</summary>
public sealed partial class BlobStoreOptions
{
    public const string Section = "Jiniac:Blobs";

    public BlobStoreKind Kind { get; set; } = BlobStoreKind.Folder;

    /// <summary>Azure Storage connection string (kind azure); infra/azurite/start.sh prints Azurite's.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The container every key lives in (kind azure); created on the first put.</summary>
    public string Container { get; set; } = "jiniac";

    /// <summary>Where a remote store downloads blobs that tools need as files; default: the state folder's blob-cache/.</summary>
    public string? CacheDir { get; set; }

    /// <summary>The service's rule for container names: 3-63 lowercase letters, digits and single hyphens, starting and ending alphanumeric.</summary>
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")]
    private static partial Regex ContainerName();

    internal IEnumerable<string> Errors()
    {
        if (Kind == BlobStoreKind.Azure && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return $"{Section}:ConnectionString: a connection string is required when {Section}:Kind is azure";
        }

        if (Kind == BlobStoreKind.Azure && !ContainerName().IsMatch(Container ?? ""))
        {
            yield return $"{Section}:Container: '{Container}' is not a valid container name (3-63 lowercase letters, digits and single hyphens)";
        }
    }
}

public static class BlobStoreRegistration
{
    /// <summary>Registers the <see cref="IBlobStore"/> that <c>Jiniac:Blobs</c> names (the folder store when nothing does).</summary>
    public static IServiceCollection AddJiniacBlobStore(this IServiceCollection services)
    {
        services.AddOptions<BlobStoreOptions>().BindConfiguration(BlobStoreOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BlobStoreOptions>, BlobStoreOptionsValidator>();
        services.AddSingleton<IBlobStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BlobStoreOptions>>().Value;
            var paths = sp.GetRequiredService<StatePaths>();
            return options.Kind switch
            {
                BlobStoreKind.Azure => new AzureBlobStore(
                    new BlobContainerClient(options.ConnectionString, options.Container),
                    options.CacheDir ?? Path.Combine(paths.Root, "blob-cache")),
                _ => new FolderBlobStore(paths.Blobs),
            };
        });
        return services;
    }

    private sealed class BlobStoreOptionsValidator : IValidateOptions<BlobStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, BlobStoreOptions options)
        {
            var errors = options.Errors().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
