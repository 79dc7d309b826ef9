using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Jiniac.Orchestrator.Dashboard;

/// <summary>The page, its script and style: embedded in the assembly, so nothing is fetched from anywhere at run time.</summary>
internal static class DashboardAssets
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> Files = Load();

    public static IResult Serve(string file) =>
        Files.TryGetValue(file, out var asset)
            ? Results.Bytes(asset.Bytes, asset.ContentType)
            : Results.NotFound();

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        const string prefix = "Jiniac.Orchestrator.Dashboard.assets.";
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name[prefix.Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[file] = (buffer.ToArray(), type);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
