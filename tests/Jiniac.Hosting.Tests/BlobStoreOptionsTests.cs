using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting.Tests;

/// <summary>Jiniac:Blobs picks the blob store; a wrong setting stops the host before it starts.</summary>
public sealed class BlobStoreOptionsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Kind_azure_with_a_connection_string_gives_the_azure_store_with_its_cache_in_the_state_folder()
    {
        using var host = Host(("Jiniac:Blobs:Kind", "azure"), ("Jiniac:Blobs:ConnectionString", "UseDevelopmentStorage=true"), ("Jiniac:Blobs:Container", "run-blobs"));

        var store = Assert.IsType<AzureBlobStore>(host.Services.GetRequiredService<IBlobStore>());

        Assert.Equal("run-blobs", store.ContainerName);
        Assert.Equal(_folder.PathOf("state/blob-cache"), store.CacheRoot);
    }

    [Fact]
    public void Kind_folder_is_the_default()
    {
        using var host = Host();

        Assert.IsType<FolderBlobStore>(host.Services.GetRequiredService<IBlobStore>());
    }

    [Theory]
    [InlineData("", "jiniac", "Jiniac:Blobs:ConnectionString: a connection string is required")]
    [InlineData("UseDevelopmentStorage=true", "Bad_Name", "Jiniac:Blobs:Container: 'Bad_Name' is not a valid container name")]
    [InlineData("UseDevelopmentStorage=true", "a--b", "Jiniac:Blobs:Container: 'a--b' is not a valid container name")]
    public async Task A_wrong_azure_setting_stops_the_host_naming_the_key(string connection, string container, string message)
    {
        using var host = Host(("Jiniac:Blobs:Kind", "azure"), ("Jiniac:Blobs:ConnectionString", connection), ("Jiniac:Blobs:Container", container));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(CancellationToken.None));

        Assert.Contains(message, e.Message);
    }

    private IHost Host(params (string Key, string Value)[] settings) => TestHosts.JiniacBuilder(_folder, settings).Build();
}
