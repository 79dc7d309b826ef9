namespace Jiniac.Publisher;

/// <summary>Bound from the "Publisher" configuration section.</summary>
public sealed class PublisherOptions
{
    public const string Section = "Publisher";

    /// <summary>Hard-link model weights from the checkpoint instead of copying them (copies when the hub is on another disk).</summary>
    public bool LinkWeights { get; set; } = true;

    /// <summary>How long a commit to the local hub waits for another process serving the same hub folder and writing the same repository.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The hub to publish to when a pipeline names none (publish.endpoint); null = the local hub this service serves.</summary>
    public string? Endpoint { get; set; }

    /// <summary>A file holding the token for <see cref="Endpoint"/>; else $HF_TOKEN.</summary>
    public string? TokenFile { get; set; }

    /// <summary>A Dapr secret store holding the token for <see cref="Endpoint"/> (with <see cref="TokenSecretKey"/>); used when no token file is given, before $HF_TOKEN.</summary>
    public string? TokenSecretStore { get; set; }

    /// <summary>The secret's key in <see cref="TokenSecretStore"/>.</summary>
    public string? TokenSecretKey { get; set; }

    /// <summary>The Dapr sidecar's gRPC address; null = Dapr's standard DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT (default http://127.0.0.1:50001).</summary>
    public string? DaprGrpcEndpoint { get; set; }

    /// <summary>How long reading the token from the Dapr sidecar may take before the publish fails.</summary>
    public TimeSpan TokenSecretTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Start the local hub over the state folder's hub/ at startup (when no Endpoint is set), so it can be browsed while a run goes.</summary>
    public bool ServeLocalHub { get; set; } = true;

    /// <summary>Local hub: LFS objects at least this large are offered the multipart transfer.</summary>
    public long LocalHubMultipartThreshold { get; set; } = 64L * 1024 * 1024;

    /// <summary>Local hub: the part size of a multipart transfer.</summary>
    public long LocalHubChunkSize { get; set; } = 16L * 1024 * 1024;

    /// <summary>Attempts per hub request; 429, 5xx and connection failures are retried with exponential back-off.</summary>
    public int HubMaxAttempts { get; set; } = 6;

    public TimeSpan HubFirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan HubMaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One hub request (a whole shard upload is one request) may take this long.</summary>
    public TimeSpan HubRequestTimeout { get; set; } = TimeSpan.FromMinutes(30);
}
