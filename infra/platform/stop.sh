#!/usr/bin/env bash
# Stops every service of a platform folder started by start.sh: SIGTERM (a worker stops its bus cleanly, the
# train-launcher asks its trainer to save and exit), then SIGKILL after JINIAC_STOP_TIMEOUT seconds (30), each
# service's whole session (its trainer children too). Keeps the data. --servers also stops this folder's
# Azurite and the RabbitMQ/Redis that start.sh itself started (one found running may serve others).
#   stop.sh [DIR] [--servers]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${JINIAC_PLATFORM_DIR:-$root/.infra-state/platform} servers=false
for arg in "$@"; do
  case "$arg" in
    --servers) servers=true ;;
    *) dir=$arg ;;
  esac
done
[ -d "$dir/pids" ] || { echo "stop.sh: no platform in $dir" >&2; exit 0; }

pids=()
for pid_file in "$dir"/pids/*.pid; do
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  # setsid made the service its session's leader: the negative pid is its process group (it and its trainer).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  pids+=("$pid")
  rm -f "$pid_file"
done
deadline=$((SECONDS + ${JINIAC_STOP_TIMEOUT:-30}))
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
done
if $servers; then
  "$root/infra/azurite/stop.sh" --location "$dir/azurite"
  # Only the servers start.sh found not running and started itself; others may serve someone else.
  if [ -f "$dir/started-servers" ]; then
    while read -r server port state; do
      if [ -n "$state" ]; then export JINIAC_INFRA_STATE=$state; else unset JINIAC_INFRA_STATE; fi
      case "$server" in
        rabbitmq) JINIAC_RABBITMQ_PORT=$port "$root/infra/rabbitmq/stop.sh" ;;
        redis) JINIAC_REDIS_PORT=$port "$root/infra/redis/stop.sh" ;;
      esac
    done <"$dir/started-servers"
    rm -f "$dir/started-servers"
  fi
fi
