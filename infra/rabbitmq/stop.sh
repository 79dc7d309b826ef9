#!/usr/bin/env bash
# Stops the RabbitMQ node infra/rabbitmq/start.sh started, and the epmd it brought up.
# Idempotent: nothing running is fine. The data under .infra-state/rabbitmq is kept.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${JINIAC_INFRA_STATE:-$root/.infra-state}/rabbitmq
export PATH=/usr/sbin:/usr/lib/rabbitmq/bin:$PATH
command -v rabbitmqctl >/dev/null 2>&1 || exit 0
# start.sh moves the state here when the rabbitmq user cannot reach the repository.
if ! runuser -u rabbitmq -- test -w "$state/mnesia" 2>/dev/null; then
  state=/var/lib/rabbitmq/jiniac-infra
fi
export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_PID_FILE="$state/rabbit.pid"
if rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
  rabbitmqctl -q stop "$state/rabbit.pid" >/dev/null
fi
# epmd outlives the node: ask the one on our loopback port to exit once no node is registered with it
# (another Erlang node of this machine keeps it).
if command -v epmd >/dev/null 2>&1 && ! epmd -names 2>/dev/null | grep -q '^name '; then
  epmd -kill >/dev/null 2>&1 || true
fi
