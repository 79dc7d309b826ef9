namespace Jiniac.Contracts.Tests.Pipeline;

/// <summary>YAML examples of docs/pipeline-reference.md, read from the doc itself so they cannot drift.</summary>
internal static class ReferenceDoc
{
    /// <summary>The first ```yaml block after <paramref name="heading"/>.</summary>
    public static string YamlAfter(string heading)
    {
        var text = Text();
        var section = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(section >= 0, $"docs/pipeline-reference.md has no '{heading}'");
        var start = text.IndexOf("```yaml\n", section, StringComparison.Ordinal) + "```yaml\n".Length;
        var end = text.IndexOf("```", start, StringComparison.Ordinal);
        return text[start..end];
    }

    /// <summary>docs/pipeline-reference.md of this checkout.</summary>
    public static string Text()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "pipeline-reference.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return File.ReadAllText(Path.Combine(dir.FullName, "docs", "pipeline-reference.md"));
    }
}
