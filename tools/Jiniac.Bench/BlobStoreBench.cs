using System.Diagnostics;
using System.Globalization;
using Jiniac.Hosting.Blobs;

namespace Jiniac.Bench;

/// <summary>
/// `jiniac-bench blobs`: one file put into and read back out of the folder store and the Azure store (Azurite
/// on loopback, started by infra/azurite/start.sh, whose connection string is passed in), against the reference
/// of `cp` of the same file on the same disk, there and back. Every read writes a local file, as cp does.
/// One run each; the page cache is not dropped.
/// </summary>
internal static class BlobStoreBench
{
    private const string Usage = "usage: jiniac-bench blobs --connection CONNECTION_STRING [--size-mb 256] [--dir DIR]";

    public static async Task<int> RunAsync(ReadOnlyMemory<string> args, TextWriter output, TextWriter error)
    {
        long sizeMb = 256;
        string? connection = null;
        var dir = Path.Combine(Path.GetTempPath(), $"jiniac-blob-bench-{Guid.NewGuid():N}");
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args.Span[i + 1] : null;
            switch (args.Span[i])
            {
                case "--size-mb" when value is not null: sizeMb = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "--connection" when value is not null: connection = value; break;
                case "--dir" when value is not null: dir = Path.GetFullPath(value); break;
                default:
                    error.WriteLine(Usage);
                    return 2;
            }
        }

        if (connection is null)
        {
            error.WriteLine(Usage);
            return 2;
        }

        Directory.CreateDirectory(dir);
        try
        {
            var source = Path.Combine(dir, "source.bin");
            var buffer = new byte[1 << 20];
            var random = new Random(42);
            await using (var file = File.Create(source))
            {
                for (long written = 0; written < sizeMb; written++)
                {
                    random.NextBytes(buffer);
                    await file.WriteAsync(buffer);
                }
            }

            var bytes = sizeMb << 20;
            output.WriteLine($"{sizeMb} MB, one run each (MB/s; ratio to cp in brackets)");
            var cpUp = Time(() => Cp(source, Path.Combine(dir, "cp-there.bin")));
            var cpDown = Time(() => Cp(Path.Combine(dir, "cp-there.bin"), Path.Combine(dir, "cp-back.bin")));
            Line(output, "cp (reference)", bytes, cpUp, cpDown, cpUp, cpDown);

            var folder = new FolderBlobStore(Path.Combine(dir, "blobs"));
            await Measure(output, "FolderBlobStore", folder, source, Path.Combine(dir, "folder-back.bin"), bytes, cpUp, cpDown);

            var azure = new AzureBlobStore(connection, $"bench{Guid.NewGuid():N}", Path.Combine(dir, "cache"));
            await Measure(output, "AzureBlobStore (Azurite)", azure, source, Path.Combine(dir, "azure-back.bin"), bytes, cpUp, cpDown);
            var local = await TimeAsync(() => azure.GetLocalPathAsync("bench/source.bin", CancellationToken.None));
            output.WriteLine($"AzureBlobStore GetLocalPath (SDK parallel download): {bytes / 1e6 / local.TotalSeconds:F0} MB/s");
            await new Azure.Storage.Blobs.BlobContainerClient(connection, azure.ContainerName).DeleteIfExistsAsync();
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task Measure(TextWriter output, string name, IBlobStore store, string source, string back, long bytes, TimeSpan cpUp, TimeSpan cpDown)
    {
        var up = await TimeAsync(() => store.PutFileAsync("bench/source.bin", source, move: false, CancellationToken.None));
        var down = await TimeAsync(async () =>
        {
            await using var read = await store.OpenReadAsync("bench/source.bin", CancellationToken.None);
            await using var file = File.Create(back);
            await read.CopyToAsync(file, 1 << 20);
        });
        if (new FileInfo(back).Length != bytes)
        {
            throw new InvalidOperationException($"{name}: read back {new FileInfo(back).Length} bytes of {bytes}");
        }

        Line(output, name, bytes, up, down, cpUp, cpDown);
    }

    private static void Line(TextWriter output, string name, long bytes, TimeSpan up, TimeSpan down, TimeSpan cpUp, TimeSpan cpDown) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: upload {bytes / 1e6 / up.TotalSeconds:F0} MB/s ({cpUp / up:F2}), download {bytes / 1e6 / down.TotalSeconds:F0} MB/s ({cpDown / down:F2})"));

    private static void Cp(string from, string to)
    {
        using var process = Process.Start("cp", [from, to]);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cp {from} {to} exited with {process.ExitCode}");
        }
    }

    private static TimeSpan Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var watch = Stopwatch.StartNew();
        await action();
        return watch.Elapsed;
    }
}
