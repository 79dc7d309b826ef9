using Jiniac.Hosting.Blobs;
using Microsoft.Extensions.Options;

namespace Jiniac.Hosting.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("run-1")]
    [InlineData("ja_web.v2")]
    [InlineData("A")]
    [InlineData("...")]
    [InlineData(".hidden")]
    public void Safe_names_are_letters_digits_dash_underscore_dot(string name)
    {
        Assert.True(SafeName.IsValid(name));
        Assert.Equal(name, SafeName.Check(name, "stage"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/abs")]
    [InlineData("C:")]
    [InlineData("has space")]
    [InlineData("日本語")]
    [InlineData("tab\t")]
    public void Unsafe_names_are_refused(string? name)
    {
        Assert.False(SafeName.IsValid(name));
        if (name is not null)
        {
            var e = Assert.Throws<ArgumentException>(() => SafeName.Check(name, "stage"));
            Assert.StartsWith($"stage '{name}' is not a safe name", e.Message);
        }
    }

    [Fact]
    public void A_safe_name_is_at_most_128_characters()
    {
        Assert.True(SafeName.IsValid(new string('a', 128)));
        Assert.False(SafeName.IsValid(new string('a', 129)));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("runs/r1/shards/000.jsonl")]
    [InlineData("tokenizers/3f2a/tokenizer.json")]
    public void Valid_blob_keys_pass_unchanged(string key) => Assert.Equal(key, BlobKey.Validate(key));

    [Theory]
    [InlineData("")]
    [InlineData("/abs/key")]
    [InlineData("trailing/")]
    [InlineData("a//b")]
    [InlineData("../up")]
    [InlineData("a/../b")]
    [InlineData("a/./b")]
    [InlineData("a\\b")]
    [InlineData("a/b\\..\\c")]
    [InlineData("C:/x")]
    public void Unsafe_blob_keys_are_refused(string key) => Assert.Throws<ArgumentException>(() => BlobKey.Validate(key));

    [Fact]
    public void A_blob_key_is_at_most_1024_characters()
    {
        var segment = new string('a', 100);
        var ok = string.Join('/', Enumerable.Repeat(segment, 10)) + "/" + new string('b', 13); // 1023
        Assert.Equal(1023, ok.Length);
        Assert.Equal(ok, BlobKey.Validate(ok));
        Assert.Throws<ArgumentException>(() => BlobKey.Validate(ok + "bb"));
    }

    [Fact]
    public void Combine_joins_and_validates()
    {
        Assert.Equal("runs/r1/shards", BlobKey.Combine("runs", "r1", "shards"));
        Assert.Throws<ArgumentException>(() => BlobKey.Combine("runs", "..", "x"));
        Assert.Throws<ArgumentException>(() => BlobKey.Combine("runs", "a/../..", "x"));
    }

    [Fact]
    public void State_paths_lay_out_the_state_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), "jiniac-state-layout");
        var paths = new StatePaths(Options.Create(new JiniacOptions { StateDir = root }));

        Assert.Equal(root, paths.Root);
        Assert.Equal(Path.Combine(root, "blobs"), paths.Blobs);
        Assert.Equal(Path.Combine(root, "grains"), paths.Grains);
        Assert.Equal(Path.Combine(root, "journal"), paths.Journal);
        Assert.Equal(Path.Combine(root, "hub"), paths.Hub);
        Assert.Equal(Path.Combine(root, "tmp"), paths.Temp);
        Assert.Equal(Path.Combine(root, "control.json"), paths.ControlEndpointFile);
        Assert.Equal(Path.Combine(root, "host.lock"), paths.LockFile);
        Assert.Equal(Path.Combine(root, "runs", "run-1"), paths.RunDir("run-1"));
        Assert.Equal(Path.Combine(root, "runs", "run-1", "train", "ja-web"), paths.TrainDir("run-1", "ja-web"));
        Assert.Equal(Path.Combine(root, "runs", "run-1", "eval", "ja-web", "step_0000042"), paths.EvalDir("run-1", "ja-web", 42));
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void A_relative_state_dir_is_made_absolute_against_the_working_directory()
    {
        var paths = new StatePaths(Options.Create(new JiniacOptions { StateDir = ".jiniac" }));

        Assert.Equal(Path.Combine(Environment.CurrentDirectory, ".jiniac"), paths.Root);
    }

    [Theory]
    [InlineData("../other", "stage")]
    [InlineData("run-1", "../../etc")]
    [InlineData("run/1", "s")]
    [InlineData("", "s")]
    public void State_paths_refuse_unsafe_run_and_stage_names(string run, string stage)
    {
        var paths = new StatePaths(Options.Create(new JiniacOptions { StateDir = "/tmp/x" }));

        Assert.Throws<ArgumentException>(() => paths.TrainDir(run, stage));
        Assert.Throws<ArgumentException>(() => paths.EvalDir(run, stage, 1));
    }
}
