using Jiniac.HubServer;

namespace Jiniac.Publisher.Tests;

/// <summary>A local hub on loopback for a test, with a multipart threshold small enough that test files cross it.</summary>
internal static class TestHubs
{
    public const long MultipartThreshold = 100_000;

    public static Task<LocalHubServer> StartAsync(string root, string token, long chunkSize) =>
        LocalHubServer.StartAsync(new LocalHubServerOptions
        {
            Root = root,
            Token = token,
            MultipartThreshold = MultipartThreshold,
            ChunkSize = chunkSize,
        }, TimeProvider.System, null, CancellationToken.None);
}
