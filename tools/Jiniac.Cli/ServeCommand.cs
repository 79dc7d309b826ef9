using System.Security.Cryptography;
using Jiniac.Orchestrator.Control;
using Jiniac.Orchestrator.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jiniac.Cli;

/// <summary>`jiniac serve`: the embedded platform with no pipeline of its own, for `jiniac submit` (and scripts) to use.</summary>
internal static class ServeCommand
{
    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var stateDir = Cli.StateDir(args);
        args.RejectUnknown();
        if (args.Positionals.Count != 0)
        {
            throw new CliException("usage: jiniac serve [--state-dir DIR]");
        }

        await using var connection = await ControlConnection.OpenAsync(stateDir, startWorkers: true, mustExist: false, default);
        if (connection.OwnHost is not { } host)
        {
            throw new CliException($"a host already serves {stateDir}: submit to it with `jiniac submit PIPELINE`");
        }

        // Runs left unfinished by an earlier host carry on, as `jiniac run` would continue them.
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        foreach (var runId in await grains.GetGrain<IRunRegistryGrain>(GrainKeys.Registry).ListAsync())
        {
            await grains.GetGrain<IRunGrain>(runId).ResumeAsync();
        }

        Console.WriteLine($"jiniac: serving {stateDir} (control API {host.Urls.First()}, loopback only); submit with `jiniac submit PIPELINE`, stop with Ctrl+C");
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }

        return ExitCodes.Ok;
    }
}

/// <summary>`jiniac key new NAME --role ROLE` / `jiniac key hash KEY`: API keys for an orchestrator's Control:ApiKeys.</summary>
internal static class KeyCommand
{
    public static int Execute(CliArgs args)
    {
        var role = args.Get("role") ?? "viewer";
        args.RejectUnknown();
        switch (args.Positionals)
        {
            case ["new", var name]:
                if (!Jiniac.Hosting.SafeName.IsValid(name))
                {
                    throw new CliException($"key name '{name}' is not a safe name (letters, digits, - _ .)");
                }

                var parsed = role is "viewer" or "operator" ? role : throw new CliException($"--role: '{role}' is neither viewer nor operator");
                var key = "jk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                var hash = ApiKeyRing.HashOf(key);
                Console.WriteLine($"key: {key}");
                Console.WriteLine("(shown once: give it to its user; the orchestrator keeps only the hash)");
                Console.WriteLine($"Control__ApiKeys__{name}__Hash={hash}");
                Console.WriteLine($"Control__ApiKeys__{name}__Role={parsed}");
                Console.WriteLine($"keys-file line: {name} {parsed} {hash}");
                return ExitCodes.Ok;
            case ["hash", var plain]:
                Console.WriteLine(ApiKeyRing.HashOf(plain));
                return ExitCodes.Ok;
            default:
                throw new CliException("usage: jiniac key new NAME [--role viewer|operator] | jiniac key hash KEY");
        }
    }
}
