#!/usr/bin/env bash
# Starts the whole distributed topology on this machine without Docker: RabbitMQ, Redis and Azurite through
# infra/*, then every service as its own process (JINIAC_SILOS orchestrator silos, ingest, tokenize,
# train-launcher, evaluator, publisher), each with its environment in DIR/env/<name>.env, its log in
# DIR/logs/<name>.log and its pid in DIR/pids/<name>.pid, waiting until each is ready. Idempotent: a service
# whose pid is alive is left as it is, so running it again after a crash restarts only what is gone.
# Prints the orchestrator's control URL (the first silo's) as its only stdout line.
#   start.sh [DIR]            DIR default: $JINIAC_PLATFORM_DIR or <repo>/.infra-state/platform
# Knobs (env): JINIAC_CONTROL_PORT (5080; silo n listens on +n), JINIAC_SILO_PORT (11111), JINIAC_GATEWAY_PORT
# (30000), JINIAC_SILOS (1), JINIAC_RABBITMQ_VHOST (jiniac; created), AZURITE_PORT (10000),
# JINIAC_RABBITMQ_PORT, JINIAC_REDIS_PORT, JINIAC_INFRA_STATE (passed to infra/*), JINIAC_CLUSTER_ID (jiniac), JINIAC_CONFIGURATION (Release), JINIAC_PLATFORM_SETTINGS (a file of extra
# KEY=VALUE lines added to every service's environment, e.g. Orchestrator__ReissueAfter=00:00:10).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$(mkdir -p "${1:-${JINIAC_PLATFORM_DIR:-$root/.infra-state/platform}}" && cd "${1:-${JINIAC_PLATFORM_DIR:-$root/.infra-state/platform}}" && pwd)
configuration=${JINIAC_CONFIGURATION:-Release}
control_port=${JINIAC_CONTROL_PORT:-5080}
silo_port=${JINIAC_SILO_PORT:-11111}
gateway_port=${JINIAC_GATEWAY_PORT:-30000}
silos=${JINIAC_SILOS:-1}
vhost=${JINIAC_RABBITMQ_VHOST:-jiniac}
cluster=${JINIAC_CLUSTER_ID:-jiniac}
mkdir -p "$dir/env" "$dir/logs" "$dir/pids" "$dir/shared" "$dir/cache"

# 1. The servers (each script is idempotent and prints its connection string last). Those not running yet are
# started here and noted in DIR/started-servers, so that `stop.sh --servers` stops only what this platform started
# (JINIAC_REDIS_PORT and JINIAC_INFRA_STATE give a platform a Redis of its own, as the tests do).
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
accepts "${JINIAC_RABBITMQ_PORT:-5672}" || echo "rabbitmq ${JINIAC_RABBITMQ_PORT:-5672} ${JINIAC_INFRA_STATE:-}" >>"$dir/started-servers"
accepts "${JINIAC_REDIS_PORT:-6379}" || echo "redis ${JINIAC_REDIS_PORT:-6379} ${JINIAC_INFRA_STATE:-}" >>"$dir/started-servers"
rabbit=$("$root/infra/rabbitmq/start.sh" | tail -n 1)
redis=$("$root/infra/redis/start.sh" | tail -n 1)
azure=$("$root/infra/azurite/start.sh" --location "$dir/azurite" --port "${AZURITE_PORT:-10000}" | tail -n 1)
# A vhost of its own: queue names are fixed per service, so two platforms on one broker would share queues.
export PATH=/usr/sbin:/usr/lib/rabbitmq/bin:$PATH
rabbitmqctl -q add_vhost "$vhost" >/dev/null 2>&1 || true
rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null

# 2. The builds (only what is missing: a checkout that was built is used as it is).
dll_of() { echo "$root/services/Jiniac.$1/bin/$configuration/net10.0/Jiniac.$1.dll"; }
trainer=${JINIAC_TRAINER:-$root/tools/Jiniac.Trainer/bin/$configuration/net10.0/jiniac-trainer.dll}
for project in Orchestrator Ingest Tokenize TrainLauncher Evaluator Publisher; do
  [ -f "$(dll_of "$project")" ] || dotnet build "$root/services/Jiniac.$project" -c "$configuration" --nologo -v quiet -clp:ErrorsOnly >&2
done
[ -f "$trainer" ] || dotnet build "$root/tools/Jiniac.Trainer" -c "$configuration" --nologo -v quiet -clp:ErrorsOnly >&2

# 3. Each service's environment. Jiniac__StateDir is the shared filesystem every service sees (checkpoints,
# the pipeline's sources, the local hub): one folder here, an NFS/Lustre mount on a cluster. Blob caches are
# per process (a machine's local disk).
common() {
  cat <<ENV
Jiniac__Topology=Distributed
Jiniac__RabbitMq=${rabbit%/}/$vhost
Jiniac__Redis=$redis
Jiniac__StateDir=$dir/shared
Jiniac__Blobs__Kind=azure
Jiniac__Blobs__ConnectionString=$azure
Jiniac__Blobs__CacheDir=$dir/cache/$1
Orchestrator__ClusterId=$cluster
TrainLauncher__Trainer=$trainer
Evaluator__Trainer=$trainer
Logging__LogLevel__Default=Information
Logging__LogLevel__Microsoft=Warning
Logging__LogLevel__Microsoft.Hosting.Lifetime=Information
Logging__LogLevel__Orleans=Warning
Logging__LogLevel__MassTransit=Warning
Logging__Console__FormatterName=simple
Logging__Console__FormatterOptions__SingleLine=true
ENV
  [ -z "${JINIAC_PLATFORM_SETTINGS:-}" ] || cat "$JINIAC_PLATFORM_SETTINGS"
}
names=()
for ((n = 0; n < silos; n++)); do
  name=orchestrator-$n
  { common "$name"
    echo "JINIAC_SERVICE_DLL=$(dll_of Orchestrator)"
    echo "Orchestrator__SiloPort=$((silo_port + n))"
    echo "Orchestrator__GatewayPort=$((gateway_port + n))"
    echo "Control__Url=http://127.0.0.1:$((control_port + n))"
    echo "JINIAC_READY_PORT=$((control_port + n))"
  } >"$dir/env/$name.env"
  names+=("$name")
done
for service in Ingest Tokenize TrainLauncher Evaluator Publisher; do
  name=$(echo "$service" | sed 's/TrainLauncher/train-launcher/' | tr '[:upper:]' '[:lower:]')
  { common "$name"; echo "JINIAC_SERVICE_DLL=$(dll_of "$service")"; } >"$dir/env/$name.env"
  names+=("$name")
done
printf '%s\n' "${names[@]}" >"$dir/services"

# 4. Start what is not running: the silos first, one by one (the first forms the cluster; workers' events need the
# orchestrator's queue bound), then the workers all at once, each waited for.
pids=()
for name in "${names[@]}"; do
  if [[ $name == orchestrator-* ]]; then
    "$here/service.sh" start "$dir" "$name" >&2
  else
    "$here/service.sh" start "$dir" "$name" >&2 &
    pids+=($!)
  fi
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
[ $failed -eq 0 ] || { echo "start.sh: a service did not start (above); the others run: stop.sh $dir" >&2; exit 1; }
echo "http://127.0.0.1:$control_port"
