#!/usr/bin/env bash
# Stops the RabbitMQ node infra/rabbitmq/start.sh started, and the epmd it brought up (by its pid).
# Idempotent: nothing running is fine. The data under .infra-state/rabbitmq is kept.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${JINIAC_INFRA_STATE:-$root/.infra-state}/rabbitmq
export PATH=/usr/sbin:/usr/lib/rabbitmq/bin:$PATH
export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_PID_FILE="$state/rabbit.pid"
command -v rabbitmqctl >/dev/null 2>&1 || exit 0
if rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
  rabbitmqctl -q stop "$state/rabbit.pid" >/dev/null
fi
# epmd outlives the node; end the one listening on loopback that runs as the rabbitmq user.
for pid in $(pgrep -u rabbitmq -x epmd || true); do
  kill "$pid" 2>/dev/null || true
done
