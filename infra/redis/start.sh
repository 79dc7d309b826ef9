#!/usr/bin/env bash
# Starts Redis on 127.0.0.1:${JINIAC_REDIS_PORT:-6379} with its AOF (fsync always: grain state and
# reminders must survive kill -9), log and pid under ${JINIAC_INFRA_STATE:-<repo>/.infra-state}/redis,
# installing Debian's redis-server first if it is missing (CI: clean Debian 12, root). Idempotent: a
# running server is left as it is. Prints the connection string on success. See shared/RECIPES.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${JINIAC_INFRA_STATE:-$root/.infra-state}/redis
port=${JINIAC_REDIS_PORT:-6379}

if ! command -v redis-server >/dev/null 2>&1; then
  "$root/infra/apt-install.sh" redis-server redis-tools
fi

ready() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

if ready; then
  echo "127.0.0.1:$port"
  exit 0
fi

mkdir -p "$state"
redis-server --bind 127.0.0.1 --port "$port" --dir "$state" --appendonly yes --appendfsync always \
  --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
deadline=$((SECONDS + 30))
until ready; do
  if [ $SECONDS -ge $deadline ]; then
    echo "redis did not answer PING on 127.0.0.1:$port within 30 s; log: $state/redis.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "127.0.0.1:$port"
