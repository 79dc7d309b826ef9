#!/usr/bin/env bash
# Starts or kills one service of a platform folder made by start.sh, from its DIR/env/<name>.env:
#   service.sh start DIR NAME   start it unless its pid is alive; wait until it is ready (the orchestrator's
#                               control port accepts; a worker logged "Application started", which the host
#                               says only once its bus is connected and its queues bound)
#   service.sh kill DIR NAME    SIGKILL it (a crash: no graceful stop; its trainer child, if any, lives on)
# Each service runs in its own session (setsid), from its build folder, its output appended to DIR/logs/NAME.log.
set -euo pipefail
action=$1 dir=$2 name=$3
env_file=$dir/env/$name.env pid_file=$dir/pids/$name.pid log=$dir/logs/$name.log
[ -f "$env_file" ] || { echo "service.sh: no $env_file (run start.sh first)" >&2; exit 2; }

alive() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "$action" in
  kill)
    if alive; then kill -KILL "$(cat "$pid_file")"; fi
    rm -f "$pid_file"
    exit 0 ;;
  start) ;;
  *) echo "service.sh: unknown action '$action' (start, kill)" >&2; exit 2 ;;
esac

if alive; then
  exit 0
fi
dll=$(sed -n 's/^JINIAC_SERVICE_DLL=//p' "$env_file")
ready_port=$(sed -n 's/^JINIAC_READY_PORT=//p' "$env_file")
offset=$(stat -c %s "$log" 2>/dev/null || echo 0)
(
  cd "$(dirname "$dll")"
  # env(1), not `source`: .NET keys may hold dots (Logging__LogLevel__Microsoft.Hosting.Lifetime).
  mapfile -t settings < <(grep -v '^[[:space:]]*\(#\|$\)' "$env_file")
  exec env "${settings[@]}" setsid dotnet "$dll" >>"$log" 2>&1 </dev/null
) &
pid=$!
echo "$pid" >"$pid_file"

ready() {
  if [ -n "$ready_port" ]; then
    (exec 3<>"/dev/tcp/127.0.0.1/$ready_port") 2>/dev/null
  else
    tail -c +"$((offset + 1))" "$log" 2>/dev/null | grep -q 'Application started'
  fi
}
deadline=$((SECONDS + ${JINIAC_READY_TIMEOUT:-120}))
until ready; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "service.sh: $name exited while starting; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    rm -f "$pid_file"
    exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "service.sh: $name not ready within ${JINIAC_READY_TIMEOUT:-120} s; log: $log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "$name ready (pid $pid, log $log)"
