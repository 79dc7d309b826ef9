namespace Jiniac.TrainLauncher.Backends;

/// <summary>Bound from "TrainLauncher:Slurm": how the launcher reaches the cluster's client commands.</summary>
public sealed class SlurmOptions
{
    /// <summary>SLURM_CONF for sbatch/squeue/scontrol/scancel; null = theirs (the environment's or /etc/slurm).</summary>
    public string? Conf { get; set; }

    /// <summary>Folder holding the client commands; null = found on PATH.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>How often squeue is asked about a running job (each call is a round trip to slurmctld).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
