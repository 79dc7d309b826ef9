using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Jiniac.HubServer;
using Jiniac.Publisher;
using Jiniac.Publisher.Hub;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jiniac.Bench;

/// <summary>
/// `jiniac-bench hub`: one weights file published through the Hub protocol to the local hub on loopback
/// (SHA-256, preupload, LFS batch, basic or multipart upload, NDJSON commit), against the reference of copying
/// the same file on the same disk (what the publisher did before it spoke the protocol). One run each, cold page cache not forced.
/// </summary>
internal static class HubUploadBench
{
    public static async Task<int> RunAsync(ReadOnlyMemory<string> args, TextWriter output, TextWriter error)
    {
        long sizeMb = 256, chunkMb = 16;
        var dir = Path.Combine(Path.GetTempPath(), $"jiniac-hub-bench-{Guid.NewGuid():N}");
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args.Span[i + 1] : null;
            switch (args.Span[i])
            {
                case "--size-mb" when value is not null: sizeMb = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "--chunk-mb" when value is not null: chunkMb = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "--dir" when value is not null: dir = Path.GetFullPath(value); break;
                default:
                    error.WriteLine("usage: jiniac-bench hub [--size-mb 256] [--chunk-mb 16] [--dir DIR]");
                    return 2;
            }
        }

        Directory.CreateDirectory(dir);
        try
        {
            var source = Path.Combine(dir, "model.safetensors");
            var buffer = new byte[1 << 20];
            await using (var file = File.Create(source))
            {
                for (var mb = 0; mb < sizeMb; mb++)
                {
                    RandomNumberGenerator.Fill(buffer);
                    await file.WriteAsync(buffer);
                }
            }

            var bytes = sizeMb << 20;
            var copy = Stopwatch.StartNew();
            File.Copy(source, Path.Combine(dir, "copy.safetensors"));
            using (var handle = File.OpenHandle(Path.Combine(dir, "copy.safetensors"), FileMode.Open, FileAccess.ReadWrite))
            {
                RandomAccess.FlushToDisk(handle);
            }

            copy.Stop();
            output.WriteLine(Row("file copy + fsync (reference)", bytes, copy.Elapsed, copy.Elapsed));
            foreach (var multipart in new[] { false, true })
            {
                await using var server = await LocalHubServer.StartAsync(new LocalHubServerOptions
                {
                    Root = Path.Combine(dir, multipart ? "hub-multipart" : "hub-basic"),
                    Token = "hf_bench",
                    MultipartThreshold = multipart ? 1 : long.MaxValue,
                    ChunkSize = chunkMb << 20,
                }, TimeProvider.System, null, CancellationToken.None);
                using var http = new HttpClient { Timeout = TimeSpan.FromHours(1) };
                var client = new HubClient(http, new HubConnection(server.Endpoint, "hf_bench"), new HubClientOptions(), TimeProvider.System, NullLogger.Instance);
                var repo = new RepoId("bench", "model");
                var watch = Stopwatch.StartNew();
                var upload = new UploadFile("model.safetensors", source, bytes, await HubClient.Sha256Async(source, CancellationToken.None));
                await client.CreateRepoAsync(repo, false, CancellationToken.None);
                var lfs = await client.PreuploadAsync(repo, "main", [upload], CancellationToken.None);
                await client.UploadLfsAsync(repo, "main", [upload], CancellationToken.None);
                await client.CommitAsync(repo, "main", "bench", "", null, [upload], lfs, [], CancellationToken.None);
                watch.Stop();
                output.WriteLine(Row($"Hub protocol to the local hub, {(multipart ? $"multipart ({chunkMb} MiB parts)" : "basic")}", bytes, watch.Elapsed, copy.Elapsed));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Row(string what, long bytes, TimeSpan elapsed, TimeSpan reference) =>
        string.Create(CultureInfo.InvariantCulture, $"| {what} | {bytes >> 20} MiB | {elapsed.TotalSeconds:F2} s | {bytes / 1e6 / elapsed.TotalSeconds:F0} MB/s | {elapsed / reference:F2}× |");
}
