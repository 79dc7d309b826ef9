namespace Jiniac.Cli.Tests;

public sealed class HostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jiniac-cli-").FullName;

    [Fact]
    public void Only_one_process_owns_a_state_folder_and_the_lock_is_released_on_dispose()
    {
        var path = Path.Combine(_dir, "host.lock");
        using (var first = HostLock.TryAcquire(path))
        {
            Assert.NotNull(first);
            Assert.Null(HostLock.TryAcquire(path));
        }

        using var again = HostLock.TryAcquire(path);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Approve_without_run_and_stage_prints_its_usage_and_exits_2()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, await Cli.MainAsync(["approve", "only-a-run", "--state-dir", Path.Combine(_dir, "state")]));
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Contains("usage: jiniac approve RUN STAGE [--reason TEXT]", error.ToString());
    }

    [Fact]
    public void The_trainer_named_by_the_environment_wins()
    {
        var previous = Environment.GetEnvironmentVariable("JINIAC_TRAINER");
        try
        {
            Environment.SetEnvironmentVariable("JINIAC_TRAINER", Path.Combine(_dir, "my-trainer.dll"));
            Assert.Equal(Path.Combine(_dir, "my-trainer.dll"), TrainerLocator.Find());
        }
        finally
        {
            Environment.SetEnvironmentVariable("JINIAC_TRAINER", previous);
        }
    }

    [Fact]
    public async Task Status_of_a_folder_with_no_state_says_so_and_exits_3_not_found()
    {
        var code = await Cli.MainAsync(["status", "--state-dir", Path.Combine(_dir, "nothing-here")]);

        Assert.Equal(3, code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "nothing-here")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
