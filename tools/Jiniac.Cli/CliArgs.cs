namespace Jiniac.Cli;

/// <summary>A small argument reader: positionals, `--flag`, `--name value` / `--name=value`, repeated values.</summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CliArgs(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a == "--")
            {
                Positionals.AddRange(list.Skip(i + 1));
                break;
            }

            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                Positionals.Add(a);
                continue;
            }

            var name = a[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (!flags.Contains(name))
            {
                // Every value up to the next option belongs to this one (`--input a b c`).
                var values = new List<string>();
                while (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    values.Add(list[++i]);
                }

                // No value: an error only if a command reads this option (a typo is reported as unknown instead).
                Add(name, values);
                continue;
            }

            Add(name, [value ?? "true"]);
        }
    }

    public List<string> Positionals { get; } = [];

    public string? Get(string name) => GetAll(name) is [.., var last] ? last : null;

    public IReadOnlyList<string> GetAll(string name)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var values))
        {
            return [];
        }

        return values.Count > 0 ? values : throw new CliException($"--{name} needs a value");
    }

    public bool Flag(string name) => Get(name) is "true" or "1" or "yes";

    public int? GetInt(string name)
    {
        var value = Get(name);
        if (value is null)
        {
            return null;
        }

        return int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : throw new CliException($"--{name}: '{value}' is not a whole number");
    }

    public long? GetLong(string name)
    {
        var value = Get(name);
        if (value is null)
        {
            return null;
        }

        return long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : throw new CliException($"--{name}: '{value}' is not a whole number");
    }

    /// <summary>Refuses options the command did not read, so a typo is an error rather than ignored.</summary>
    public void RejectUnknown()
    {
        foreach (var name in _options.Keys)
        {
            if (!_used.Contains(name))
            {
                throw new CliException($"unknown option --{name}");
            }
        }
    }

    private void Add(string name, IEnumerable<string> values)
    {
        if (!_options.TryGetValue(name, out var list))
        {
            _options[name] = list = [];
        }

        list.AddRange(values);
    }
}

/// <summary>A usage or input error (or, with <see cref="ExitCodes.NotFound"/>, nothing there): printed without a stack trace.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>What scripts can rely on (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The run (or the stage waited for) failed, was cancelled, or the command was stopped before it finished.</summary>
    public const int RunFailed = 1;
    /// <summary>Bad input: usage, a bad pipeline file, a request the orchestrator refused (e.g. replaying a running stage).</summary>
    public const int BadInput = 2;
    /// <summary>Not found (run, stage, checkpoint, state folder, log) or the orchestrator unreachable.</summary>
    public const int NotFound = 3;
    /// <summary>No API key, an unknown one, or one whose role may not do this.</summary>
    public const int PermissionDenied = 4;
}
