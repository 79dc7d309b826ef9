namespace Jiniac.Cli.Tests;

/// <summary>Runs the CLI in-process with Console.Out and Console.Error captured (tests that use it share a collection).</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Out)> RunAsync(params string[] args)
    {
        var (previous, previousError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        Console.SetOut(output);
        Console.SetError(output);
        try
        {
            return (await Cli.MainAsync(args), output.ToString());
        }
        finally
        {
            Console.SetOut(previous);
            Console.SetError(previousError);
        }
    }
}
