#!/usr/bin/env bash
# Starts RabbitMQ on 127.0.0.1:${JINIAC_RABBITMQ_PORT:-5672} with its data, logs and pid under
# ${JINIAC_INFRA_STATE:-<repo>/.infra-state}/rabbitmq, installing Debian's rabbitmq-server first if it
# is missing (CI: clean Debian 12, root). No systemd, no Docker. Idempotent: a running node is left as
# it is. Prints the AMQP connection string on success. Recipe and pitfalls: shared/RECIPES.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${JINIAC_INFRA_STATE:-$root/.infra-state}/rabbitmq
port=${JINIAC_RABBITMQ_PORT:-5672}
url="amqp://guest:guest@127.0.0.1:$port/"

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
  "$root/infra/apt-install.sh" rabbitmq-server
fi
export PATH=/usr/sbin:/usr/lib/rabbitmq/bin:$PATH

mkdir -p "$state/mnesia" "$state/log"
chown -R rabbitmq:rabbitmq "$state"
# The node runs as the rabbitmq user: a checkout under a private home (/root is mode 700) is out of its
# reach, so the state moves to rabbitmq's own home then, said once on stderr (stop.sh finds it the same way).
if ! runuser -u rabbitmq -- test -w "$state/mnesia"; then
  state=/var/lib/rabbitmq/jiniac-infra
  echo "rabbitmq: the rabbitmq user cannot write under the repository; state in $state" >&2
  mkdir -p "$state/mnesia" "$state/log"
  chown -R rabbitmq:rabbitmq "$state"
fi
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_MNESIA_BASE="$state/mnesia" RABBITMQ_LOG_BASE="$state/log" RABBITMQ_PID_FILE="$state/rabbit.pid" \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

ready() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }

if ready; then
  echo "$url"
  exit 0
fi

rabbitmq-server -detached
# Port 5672 answers 3-5 s after start; `rabbitmqctl await_startup` right after start fails (RECIPES.md).
deadline=$((SECONDS + 90))
until ready; do
  if [ $SECONDS -ge $deadline ]; then
    echo "rabbitmq did not become ready on 127.0.0.1:$port within 90 s; logs in $state/log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "$url"
