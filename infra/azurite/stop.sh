#!/usr/bin/env bash
# Stops the Azurite that start.sh started for a data folder (its pid file), waiting until it is gone.
# Idempotent: nothing running is not an error. The data folder is kept (a later start.sh serves it again).
#   stop.sh [--location DIR]
set -euo pipefail
cache=${JINIAC_INFRA_CACHE:-$HOME/.cache/jiniac}
location=${AZURITE_LOCATION:-$cache/azurite/data}
while [ $# -gt 0 ]; do
  case "$1" in
    --location) location=$2; shift 2 ;;
    --port) shift 2 ;; # accepted for symmetry with start.sh; the pid file says what to stop
    *) echo "stop.sh: unknown argument '$1' (expected --location DIR)" >&2; exit 2 ;;
  esac
done
pidfile=$location/azurite.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
fi
rm -f "$pidfile"
