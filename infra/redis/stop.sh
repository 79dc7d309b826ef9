#!/usr/bin/env bash
# Stops the Redis infra/redis/start.sh started (SHUTDOWN writes the AOF out). Idempotent; data is kept.
set -euo pipefail
port=${JINIAC_REDIS_PORT:-6379}
command -v redis-cli >/dev/null 2>&1 || exit 0
if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
  redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || true
fi
