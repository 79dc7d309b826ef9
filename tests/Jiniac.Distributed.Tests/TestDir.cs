namespace Jiniac.Distributed.Tests;

/// <summary>A test's own temp folder, deleted when the test ends — kept when JINIAC_TEST_KEEP_DIR=1, for a post-mortem.</summary>
public sealed class TestDir(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("JINIAC_TEST_KEEP_DIR") == "1")
        {
            return; // the platform's logs/, env/ and shared/ (checkpoints, metrics.jsonl) stay for a look
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
