namespace Jiniac.Cli.Tests;

public sealed class CliArgsTests
{
    private static readonly HashSet<string> Flags = ["json", "follow"];

    [Fact]
    public void Positionals_options_with_several_values_and_flags_are_told_apart()
    {
        var args = new CliArgs(["events", "run1", "--from", "42", "--follow", "--input", "a.jsonl", "b.jsonl", "--json-key=body"], Flags);

        Assert.Equal(["events", "run1"], args.Positionals);
        Assert.Equal(42, args.GetLong("from"));
        Assert.True(args.Flag("follow"));
        Assert.False(args.Flag("json"));
        Assert.Equal(["a.jsonl", "b.jsonl"], args.GetAll("input"));
        Assert.Equal("body", args.Get("json-key"));
        args.RejectUnknown();
    }

    [Fact]
    public void An_option_nobody_reads_is_refused_by_name()
    {
        var args = new CliArgs(["status", "--jsn"], Flags);

        var error = Assert.Throws<CliException>(args.RejectUnknown);
        Assert.Contains("--jsn", error.Message);
    }

    [Fact]
    public void An_option_without_its_value_and_a_non_number_are_errors()
    {
        var missing = new CliArgs(["events", "--from"], Flags);
        Assert.Contains("--from needs a value", Assert.Throws<CliException>(() => missing.GetLong("from")).Message);
        var args = new CliArgs(["--workers", "many"], Flags);
        Assert.Contains("'many' is not a whole number", Assert.Throws<CliException>(() => args.GetInt("workers")).Message);
    }

    [Fact]
    public void Everything_after_a_double_dash_is_positional()
    {
        var args = new CliArgs(["run", "--", "--odd-name.yaml"], Flags);

        Assert.Equal(["run", "--odd-name.yaml"], args.Positionals);
    }
}
