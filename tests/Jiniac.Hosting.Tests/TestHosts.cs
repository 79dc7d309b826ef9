using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Hosting.Tests;

internal static class TestHosts
{
    /// <summary>An empty host with the Jiniac defaults, its state folder in <paramref name="folder"/>, and the given settings.</summary>
    public static HostApplicationBuilder JiniacBuilder(TempFolder folder, params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        var values = new Dictionary<string, string?> { ["Jiniac:StateDir"] = folder.PathOf("state") };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(values);
        builder.AddJiniacDefaults();
        return builder;
    }
}
