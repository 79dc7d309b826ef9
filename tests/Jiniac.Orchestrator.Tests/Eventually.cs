namespace Jiniac.Orchestrator.Tests;

/// <summary>Polls a read until it satisfies a condition, failing at a deadline (never a fixed sleep).</summary>
public static class Eventually
{
    /// <summary>Generous: only a broken orchestrator ever gets near it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        using var timer = new PeriodicTimer(Interval);
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}; last value: {System.Text.Json.JsonSerializer.Serialize(value, OrchestratorJson.Options)}");
            }

            await timer.WaitForNextTickAsync();
        }
    }
}
