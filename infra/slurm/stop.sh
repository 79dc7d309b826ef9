#!/usr/bin/env bash
# Stops the Slurm that start.sh started in STATE_DIR (default: $JINIAC_SLURM_DIR or /tmp/jiniac-slurm):
# slurmd, slurmctld, munged, each by the pid file it wrote there, so nothing else is touched.
# Idempotent; keeps the folder (state, logs) for inspection. Running jobs are cancelled first.
set -uo pipefail

dir=${1:-${JINIAC_SLURM_DIR:-/tmp/jiniac-slurm}}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd)
export SLURM_CONF="$dir/etc/slurm.conf"

if [ -f "$SLURM_CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
fi

# stop NAME: SIGTERM the pid in run/NAME.pid if that process is NAME, then wait (SIGKILL after 15 s).
stop() {
  local name=$1 file="$dir/run/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(tr -dc 0-9 < "$file")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || break
      sleep 0.1
    done
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

stop slurmd
stop slurmctld
stop munged
echo "slurm: stopped in $dir" >&2
