using System.Diagnostics;
using Jiniac.Contracts;
using Jiniac.Contracts.Pipeline;
using Jiniac.TrainLauncher.Backends;

namespace Jiniac.TrainLauncher.Tests.Slurm;

/// <summary>The sbatch script and the reading of Slurm's answers, without a cluster.</summary>
public sealed class SlurmScriptTests
{
    private static TrainerLaunch Launch() => new()
    {
        Program = "/opt/trainer",
        Arguments = ["train", "--job", "/state/run 1/JOB.json"],
        WorkingDirectory = "/state/run 1",
        LogFile = "/state/run 1/trainer.log",
        Environment = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "4" },
        Command = LauncherFixture.Command(steps: 10),
        Restart = 2,
    };

    private static readonly BackendSpec Backend = new()
    {
        Kind = BackendSpec.Slurm,
        Nodes = 2,
        GpusPerNode = 8,
        Partition = "gpu",
        Account = "llm-ja",
        TimeLimit = "2-00:00:00",
        SignalGraceSeconds = 120,
        Setup = ["module load cuda/12.4"],
        Env = ["NCCL_DEBUG=WARN", "QUOTED=it's here"],
        Image = "nvcr.io/nvidia/pytorch:24.05-py3",
    };

    [Fact]
    public void The_script_carries_every_resource_and_the_graceful_warning_and_bash_accepts_it()
    {
        var script = SlurmScript.Render(Launch(), Backend, "/opt/trainer", ["train", "--job", "/state/run 1/JOB.json"]);
        var lines = script.Split('\n');
        Assert.Equal("#!/bin/bash", lines[0]);
        string[] expected =
        [
            "#SBATCH --job-name=jiniac-run-1-en-web", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gres=gpu:8",
            "#SBATCH --partition=gpu", "#SBATCH --account=llm-ja", "#SBATCH --time=2-00:00:00", "#SBATCH --signal=B:TERM@120",
            "#SBATCH --chdir=\"/state/run 1\"", "#SBATCH --output=\"/state/run 1/trainer.log\"", "#SBATCH --open-mode=append", "#SBATCH --no-requeue",
        ];
        foreach (var directive in expected)
        {
            Assert.Contains(directive, lines);
        }

        // Directives must come before the first command, or sbatch ignores them.
        var firstCommand = Array.FindIndex(lines, l => l.Length > 0 && !l.StartsWith('#'));
        Assert.True(Array.FindLastIndex(lines, l => l.StartsWith("#SBATCH", StringComparison.Ordinal)) < firstCommand);
        Assert.Contains("export OMP_NUM_THREADS=4", lines);
        Assert.Contains("export NCCL_DEBUG=WARN", lines);
        Assert.Contains("export QUOTED='it'\\''s here'", lines);
        Assert.Contains("module load cuda/12.4", lines);
        Assert.Contains("export MASTER_ADDR=\"$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\"", lines);
        Assert.Contains("srun --kill-on-bad-exit=1 --container-image=nvcr.io/nvidia/pytorch:24.05-py3 --container-mounts='/state/run 1:/state/run 1' /opt/trainer train --job '/state/run 1/JOB.json' &", lines);
        Assert.True(Array.IndexOf(lines, "module load cuda/12.4") < Array.FindIndex(lines, l => l.StartsWith("srun", StringComparison.Ordinal)));

        using var bash = Process.Start(new ProcessStartInfo("bash", ["-n"]) { RedirectStandardInput = true, RedirectStandardError = true })!;
        bash.StandardInput.Write(script);
        bash.StandardInput.Close();
        var error = bash.StandardError.ReadToEnd();
        bash.WaitForExit();
        Assert.True(bash.ExitCode == 0, error);
    }

    [Fact]
    public void Optional_resources_are_left_to_the_cluster()
    {
        var script = SlurmScript.Render(Launch(), new BackendSpec { Kind = BackendSpec.Slurm, SignalGraceSeconds = 0 }, "/opt/trainer", []);
        Assert.DoesNotContain("--gres", script);
        Assert.DoesNotContain("--partition", script);
        Assert.DoesNotContain("--account", script);
        Assert.DoesNotContain("--time", script);
        Assert.DoesNotContain("--signal", script);
        Assert.DoesNotContain("--container-image", script);
        Assert.DoesNotContain("MASTER_ADDR", script);
    }

    [Fact]
    public void Scontrols_one_line_job_record_is_read_by_field()
    {
        var job = SlurmBackend.ParseJob(
            "JobId=12 JobName=jiniac-run-1-en-web UserId=root(0) JobState=NODE_FAIL Reason=NodeDown Dependency=(null) Requeue=0 Restarts=0 ExitCode=0:0 RunTime=00:00:03\n");
        Assert.Equal(("NODE_FAIL", 0, 0, "NodeDown"), (job!.Value.State, job.Value.ExitCode, job.Value.Signal, job.Value.Reason));
        Assert.Equal((75, 0), SlurmBackend.ParseJob("JobId=3 JobState=FAILED Reason=NonZeroExitCode ExitCode=75:0") is { } f ? (f.ExitCode!.Value, f.Signal!.Value) : (-1, -1));
        Assert.Null(SlurmBackend.ParseJob("slurm_load_jobs error: Invalid job id specified"));
    }

    [Theory]
    [InlineData("COMPLETED", 0, 0, 0, false, false)]
    [InlineData("FAILED", 3, 3, 3, false, false)]
    [InlineData("FAILED", 3, null, 3, false, false)]
    [InlineData("FAILED", 75, 75, 75, true, true)]
    [InlineData("TIMEOUT", 0, 75, 75, true, true)]
    [InlineData("TIMEOUT", 0, null, -1, true, false)]
    [InlineData("NODE_FAIL", 0, 1, 1, true, false)]
    [InlineData("NODE_FAIL", 0, null, -1, true, false)]
    [InlineData("PREEMPTED", 0, null, -1, true, false)]
    [InlineData("CANCELLED", 0, null, -1, true, false)]
    public void Slurms_job_state_adds_what_the_exit_code_does_not_say(string state, int slurmCode, int? fileCode, int expectedCode, bool explained, bool requeue)
    {
        var exit = SlurmBackend.Interpret("12", (state, slurmCode, 0, "None"), fileCode);
        Assert.Equal(expectedCode, exit.ExitCode);
        Assert.Equal(explained, exit.Reason is not null);
        Assert.Equal(requeue, exit.Requeue);
        if (explained)
        {
            Assert.Contains($"Slurm job 12 ended {state}", exit.Reason);
        }
    }

    [Fact]
    public void Squeue_says_running_finished_or_that_it_could_not_ask()
    {
        Assert.Equal("RUNNING", SlurmBackend.QueueState(new SlurmCli.Result(0, "RUNNING\n", "")));
        Assert.Null(SlurmBackend.QueueState(new SlurmCli.Result(0, "", "")));
        Assert.Null(SlurmBackend.QueueState(new SlurmCli.Result(1, "", "slurm_load_jobs error: Invalid job id specified\n")));
        // A controller that does not answer is not a finished job: following goes on rather than starting a second one.
        Assert.Equal(SlurmBackend.Unreachable, SlurmBackend.QueueState(new SlurmCli.Result(1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")));
    }

    [Fact]
    public void Sacct_records_are_read_where_accounting_exists()
    {
        Assert.Equal(("NODE_FAIL", 0, 0), SlurmBackend.ParseAccounting("NODE_FAIL|0:0\n") is { } a ? (a.State, a.ExitCode!.Value, a.Signal!.Value) : default);
        Assert.Equal(("CANCELLED", 0, 15), SlurmBackend.ParseAccounting("CANCELLED by 0|0:15\n") is { } c ? (c.State, c.ExitCode!.Value, c.Signal!.Value) : default);
        Assert.Null(SlurmBackend.ParseAccounting(""));
    }

    [Fact]
    public void A_job_slurmctld_has_forgotten_without_an_exit_file_is_a_failure_with_a_reason()
    {
        var exit = SlurmBackend.Interpret("12", null, null);
        Assert.Equal(-1, exit.ExitCode);
        Assert.Contains("no longer known to slurmctld", exit.Reason);
    }
}
