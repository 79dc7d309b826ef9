using YamlDotNet.RepresentationModel;

namespace Jiniac.Contracts.Pipeline;

// A source's cleaning, PII and dedup rules: kept in their own reader so they merge apart from the rest.
public static partial class PipelineLoader
{
    /// <summary>
    /// Reads one source entry on its own (the keys of a <c>stages[].sources[]</c> item), as `jiniac ingest --config`
    /// does. <paramref name="paths"/>, when given, are the source's paths (the file must then not list any);
    /// <paramref name="defaultName"/> is its name unless the file gives one.
    /// </summary>
    /// <exception cref="PipelineValidationException">the text is not valid YAML or breaks a rule.</exception>
    public static SourceSpec ParseSource(string yaml, string fileName, string baseDirectory, string defaultName, IReadOnlyList<string> paths)
    {
        var diagnostics = new Diagnostics(fileName);
        YamlMappingNode map;
        if (string.IsNullOrWhiteSpace(yaml))
        {
            map = new YamlMappingNode();
        }
        else
        {
            var root = ReadDocument(yaml, diagnostics);
            if (root is null)
            {
                throw diagnostics.ToException();
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            map = (YamlMappingNode)stream.Documents[0].RootNode;
        }

        if (!map.Children.ContainsKey(new YamlScalarNode("name")))
        {
            map.Add("name", defaultName);
        }

        if (paths.Count > 0)
        {
            if (map.Children.ContainsKey(new YamlScalarNode("paths")) || map.Children.ContainsKey(new YamlScalarNode("path")))
            {
                diagnostics.AddFileProblem("the source's paths are given on the command line (--source): remove 'path'/'paths' from the file");
                throw diagnostics.ToException();
            }

            var list = new YamlSequenceNode();
            foreach (var path in paths)
            {
                list.Add(path);
            }

            map.Add("paths", list);
        }

        var spec = new Reader(diagnostics, Path.GetFullPath(baseDirectory)).ReadSourceEntry(YamlSection.Root(diagnostics, map));
        if (diagnostics.Count > 0)
        {
            throw diagnostics.ToException();
        }

        return spec;
    }

    private sealed partial class Reader
    {
        private static readonly string[] Languages = ["ja", "en", "other"];

        public SourceSpec ReadSourceEntry(YamlSection section) => ReadSource(section);
        private static readonly string[] PiiKinds = ["email", "phone", "mynumber", "card", "ip"];

        private static (CleaningSpec Cleaning, PiiSpec Pii, DedupSpec Dedup) ReadSourceRules(YamlSection source)
        {
            var cleaning = new CleaningSpec();
            var c = source.Section("cleaning", required: false);
            if (c is not null && c.IsPresent)
            {
                var languages = ReadChoices(c, "languages", Languages, cleaning.Languages);
                cleaning = new CleaningSpec
                {
                    Whitespace = c.Bool("whitespace", cleaning.Whitespace),
                    Boilerplate = c.Bool("boilerplate", cleaning.Boilerplate),
                    StripUrls = c.Bool("strip_urls", cleaning.StripUrls),
                    StripEmails = c.Bool("strip_emails", cleaning.StripEmails),
                    MaxChars = c.Int("max_chars", cleaning.MaxChars),
                    Languages = languages,
                    MinJapaneseRatio = c.Double("min_japanese_ratio", cleaning.MinJapaneseRatio),
                    MaxSymbolRatio = c.Double("max_symbol_ratio", cleaning.MaxSymbolRatio),
                    MaxDigitRatio = c.Double("max_digit_ratio", cleaning.MaxDigitRatio),
                    Repetition = c.Bool("repetition", cleaning.Repetition),
                };
                c.Check("max_chars", cleaning.MaxChars >= 0, "must be at least 0 (0 = no bound)");
                c.Check("min_japanese_ratio", cleaning.MinJapaneseRatio is >= 0 and <= 1, "must be between 0 and 1");
                c.Check("max_symbol_ratio", cleaning.MaxSymbolRatio is >= 0 and <= 1, "must be between 0 and 1");
                c.Check("max_digit_ratio", cleaning.MaxDigitRatio is >= 0 and <= 1, "must be between 0 and 1");
                c.Finish();
            }

            var pii = new PiiSpec();
            var p = source.Section("pii", required: false);
            if (p is not null && p.IsPresent)
            {
                pii = new PiiSpec { Redact = p.Bool("redact", pii.Redact), Kinds = ReadChoices(p, "kinds", PiiKinds, pii.Kinds) };
                p.Finish();
            }

            var dedup = new DedupSpec();
            var d = source.Section("dedup", required: false);
            if (d is not null && d.IsPresent)
            {
                dedup = new DedupSpec
                {
                    Exact = d.Bool("exact", dedup.Exact),
                    Near = d.Bool("near", dedup.Near),
                    Shingle = d.Int("shingle", dedup.Shingle),
                    Bands = d.Int("bands", dedup.Bands),
                    Rows = d.Int("rows", dedup.Rows),
                };
                d.Check("shingle", dedup.Shingle is >= 1 and <= 32, "must be between 1 and 32");
                d.Check("bands", dedup.Bands is >= 1 and <= 64, "must be between 1 and 64");
                d.Check("rows", dedup.Rows is >= 1 and <= 32, "must be between 1 and 32");
                d.Finish();
            }

            return (cleaning, pii, dedup);
        }

        private static List<string> ReadChoices(YamlSection section, string key, string[] allowed, IReadOnlyList<string> defaults)
        {
            var items = section.StringList(key);
            if (items is null)
            {
                return [.. defaults];
            }

            var values = new List<string>();
            foreach (var (value, at, path) in items)
            {
                var lower = value.ToLowerInvariant();
                if (Array.IndexOf(allowed, lower) < 0)
                {
                    section.Diagnostics.Add(at, path, $"must be one of {string.Join(", ", allowed)}, not '{value}'");
                }
                else if (!values.Contains(lower))
                {
                    values.Add(lower);
                }
            }

            return values;
        }
    }
}
