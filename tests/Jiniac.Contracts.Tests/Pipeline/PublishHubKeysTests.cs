using Jiniac.Contracts.Pipeline;

namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>publish's Hub protocol and export keys: endpoint, token_file, dtype, max_shard_size, stage_branches.</summary>
public sealed class PublishHubKeysTests
{
    [Fact]
    public void Left_out_they_mean_the_local_hub_float32_and_5GB_shards()
    {
        using var files = new PipelineFiles();
        var publish = files.Load().Publish!;

        Assert.Equal((null, null, "float32", 5_000_000_000L, true), (publish.Endpoint, publish.TokenFile, publish.DType, publish.MaxShardSize, publish.StageBranches));
    }

    [Fact]
    public void Given_they_are_read_with_the_token_file_resolved_next_to_the_pipeline_file()
    {
        using var files = new PipelineFiles();
        files.Folder.Write("secrets/hf-token", "hf_xxx\n");
        var publish = files.Insert(25, "  endpoint: https://huggingface.co", "  token_file: secrets/hf-token", "  dtype: bfloat16", "  max_shard_size: 500MiB", "  stage_branches: false").Load().Publish!;

        Assert.Equal(("https://huggingface.co", files.Folder.PathOf("secrets/hf-token"), "bfloat16", 500L << 20, false),
            (publish.Endpoint, publish.TokenFile, publish.DType, publish.MaxShardSize, publish.StageBranches));
    }

    [Theory]
    [InlineData("5GB", 5_000_000_000L)]
    [InlineData("2GiB", 2L << 30)]
    [InlineData("10 MB", 10_000_000L)]
    [InlineData("123456", 123_456L)]
    [InlineData("64KB", 64_000L)]
    public void Max_shard_size_reads_sizes_as_huggingface_hub_does(string text, long bytes)
    {
        using var files = new PipelineFiles();
        Assert.Equal(bytes, files.Insert(25, $"  max_shard_size: {text}").Load().Publish!.MaxShardSize);
    }

    [Theory]
    [InlineData("  endpoint: ftp://example.org", 25, 13, "publish.endpoint", "is not an http(s) URL")]
    [InlineData("  endpoint: https://user:pw@example.org", 25, 13, "publish.endpoint", "without user info")]
    [InlineData("  token_file: no/such/token", 25, 15, "publish.token_file", "does not exist")]
    [InlineData("  dtype: float16", 25, 10, "publish.dtype", "'float16' is not a published dtype: float32 or bfloat16")]
    [InlineData("  max_shard_size: 5 TB", 25, 19, "publish.max_shard_size", "is not a size such as 5GB")]
    [InlineData("  max_shard_size: 0", 25, 19, "publish.max_shard_size", "is not a size")]
    [InlineData("  stage_branches: sometimes", 25, 19, "publish.stage_branches", "must be true or false")]
    public void A_bad_value_is_reported_at_its_line_and_path(string text, int line, int column, string path, string message)
    {
        using var files = new PipelineFiles();
        var error = files.Insert(25, text).Error();

        Assert.Equal((path, line, column), (error.Path, error.Line, error.Column));
        Assert.Contains(message, error.Message);
    }
}
