#!/usr/bin/env bash
# Starts a single-node Slurm (munged, slurmctld, slurmd) on this machine, everything under one state
# folder of ours, for people and for the tests (see ../README.md and ../../shared/RECIPES.md, "Slurm").
#
#   infra/slurm/start.sh [STATE_DIR]      default: $JINIAC_SLURM_DIR or /tmp/jiniac-slurm
#
# Installs slurm-wlm and munge with apt-get when they are missing (CI is a clean Debian 12 machine, as
# root). Idempotent: when this folder's Slurm already answers, it only prints the settings again.
# Prints "SLURM_CONF=…" last; clients (sbatch, squeue, scontrol, scancel) need it in their environment.
# Ports: JINIAC_SLURM_CTLD_PORT (6817) and JINIAC_SLURM_SLURMD_PORT (6818).
set -euo pipefail

dir=${1:-${JINIAC_SLURM_DIR:-/tmp/jiniac-slurm}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ctld_port=${JINIAC_SLURM_CTLD_PORT:-6817}
slurmd_port=${JINIAC_SLURM_SLURMD_PORT:-6818}
conf="$dir/etc/slurm.conf"
export SLURM_CONF="$conf"

say() { echo "slurm: $*" >&2; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "$what did not happen within ${seconds}s; logs in $dir/log"
      tail -n 20 "$dir"/log/*.log >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_idle() { [ "$(sinfo -h -N -o %T 2>/dev/null | head -n1)" = "idle" ]; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    say "slurm-wlm and munge are not installed; as root: apt-get install -y slurm-wlm munge"
    exit 1
  fi
  say "installing slurm-wlm and munge"
  # Through the shared installer: test projects run at once and may install other packages at the same time.
  "$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh" slurm-wlm munge
fi

if [ -f "$conf" ] && ctld_up && node_idle; then
  say "already running in $dir"
  echo "SLURM_CONF=$conf"
  exit 0
fi

mkdir -p "$dir"/{etc,state,spool,log,run,munge-key,munge}
# munged refuses a key readable by others and a socket folder others cannot reach.
chmod 700 "$dir/munge-key"
chmod 711 "$dir/munge"
cpus=$(nproc)
memory=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
user=$(id -un)

cat > "$conf" <<CONF
# Written by infra/slurm/start.sh: a single-node cluster under $dir.
ClusterName=jiniac
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket.2
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
# Finished jobs stay visible to scontrol this long: the launcher reads their exit code from it.
MinJobAge=600
# Seconds from a cancel's SIGTERM to SIGKILL (Slurm's default is 30): the babysitting tests end a trainer deaf to SIGTERM.
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

key="$dir/munge-key/munge.key"
[ -f "$key" ] || mungekey -c -k "$key" >/dev/null
chmod 600 "$key"

# A daemon of an earlier start of this folder that no longer answers is ended first (only ours: by pid file).
"$(dirname "${BASH_SOURCE[0]}")/stop.sh" "$dir" >/dev/null 2>&1 || true

munged --force --key-file "$key" --socket "$dir/munge/munge.socket.2" --pid-file "$dir/run/munged.pid" \
  --log-file "$dir/log/munged.log" --seed-file "$dir/munge/munge.seed"
wait_for 10 "munged's socket" test -S "$dir/munge/munge.socket.2"

slurmctld -f "$conf"
wait_for 30 "slurmctld answering scontrol ping" ctld_up
# The node is called localhost in slurm.conf; this machine's hostname is not.
slurmd -f "$conf" -N localhost
wait_for 30 "the node becoming idle" node_idle
say "ready in $dir"
echo "SLURM_CONF=$conf"
