using Jiniac.HubServer;

namespace Jiniac.Cli;

/// <summary>
/// `jiniac hub serve`: the local hub over a hub folder on loopback, for huggingface_hub / @huggingface/hub
/// clients (downloads by revision, and uploads when a token file is given). The embedded host serves the
/// same folder itself while a run goes; this is for browsing it afterwards.
/// </summary>
internal static class HubCommand
{
    public const string Usage = "usage: jiniac hub serve [--dir DIR] [--port N] [--token-file FILE] [--state-dir DIR]";

    public static async Task<int> ExecuteAsync(CliArgs args)
    {
        var dir = args.Get("dir") ?? Path.Combine(Cli.StateDir(args), "hub");
        var port = args.GetInt("port") ?? 0;
        var tokenFile = args.Get("token-file");
        args.RejectUnknown();
        if (args.Positionals is not ["serve"] || port is < 0 or > 65535)
        {
            throw new CliException(Usage);
        }

        string? token = null;
        if (tokenFile is not null)
        {
            token = File.Exists(tokenFile) ? File.ReadAllText(tokenFile).Trim() : throw new CliException($"token file '{tokenFile}' does not exist");
            if (!token.StartsWith("hf_", StringComparison.Ordinal))
            {
                throw new CliException($"the token in '{tokenFile}' does not start with hf_ (Hugging Face clients refuse such tokens)");
            }
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        await using var server = await LocalHubServer.StartAsync(new LocalHubServerOptions
        {
            Root = Path.GetFullPath(dir),
            Port = port,
            // Without a token nothing can be written; with one, reads stay open as for a public repository.
            Token = token ?? "hf_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
            ReadsNeedToken = false,
        }, TimeProvider.System, null, CancellationToken.None);
        Console.WriteLine($"local hub: {server.Endpoint} serving {Path.GetFullPath(dir)} ({(token is null ? "read only" : "uploads need the token")}); Ctrl+C stops it");
        Console.WriteLine($"  e.g. HF_ENDPOINT={server.Endpoint.ToString().TrimEnd('/')} huggingface-cli download OWNER/NAME --revision main");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
