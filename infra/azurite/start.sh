#!/usr/bin/env bash
# Starts Azurite's blob service (npm azurite@3.35.0; 3.36+ needs Node >= 21) on loopback without Docker,
# waits until it answers, and prints the connection string on stdout (the only line there).
# Idempotent: when the Azurite of this data folder already runs and answers, it prints the string again.
#   start.sh [--location DIR] [--port N]
# Defaults: $AZURITE_LOCATION or ~/.cache/jiniac/azurite/data, $AZURITE_PORT or 10000. Azurite is installed
# once into $JINIAC_INFRA_CACHE (default ~/.cache/jiniac) with npm, which CI (Debian 12, Node 20) has.
set -euo pipefail
version=3.35.0
cache=${JINIAC_INFRA_CACHE:-$HOME/.cache/jiniac}
location=${AZURITE_LOCATION:-$cache/azurite/data}
port=${AZURITE_PORT:-10000}
while [ $# -gt 0 ]; do
  case "$1" in
    --location) location=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "start.sh: unknown argument '$1' (expected --location DIR, --port N)" >&2; exit 2 ;;
  esac
done

install_dir=$cache/azurite-$version
main=$install_dir/node_modules/azurite/dist/src/blob/main.js
if [ ! -f "$main" ]; then
  command -v npm >/dev/null || { echo "start.sh: npm is needed to install azurite@$version" >&2; exit 1; }
  mkdir -p "$install_dir"
  # Into a temp folder first, then renamed: two test processes installing at once never see half a tree.
  tmp=$(mktemp -d "$cache/azurite-install.XXXXXX")
  (cd "$tmp" && npm install --no-audit --no-fund --loglevel=error "azurite@$version" >&2)
  if [ ! -f "$main" ]; then
    rm -rf "$install_dir/node_modules"
    mv "$tmp/node_modules" "$install_dir/node_modules"
  fi
  rm -rf "$tmp"
fi

mkdir -p "$location"
location=$(cd "$location" && pwd)
pidfile=$location/azurite.pid
url="http://127.0.0.1:$port/devstoreaccount1?comp=list"
connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"

# An unauthenticated listing answers 403: the server is up and speaks the blob API. Probed with node,
# which Azurite needs anyway (a clean Debian 12 has no curl).
ready() {
  node -e 'const r = require("http").get(process.argv[1], { timeout: 2000 }, s => process.exit(s.statusCode === 403 ? 0 : 1));
    r.on("error", () => process.exit(1)); r.on("timeout", () => r.destroy());' "$url" 2>/dev/null
}
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if running; then
  if ready; then
    echo "$connection"
    exit 0
  fi
  echo "start.sh: azurite (pid $(cat "$pidfile")) runs on $location but does not answer on port $port" >&2
  exit 1
fi
if ready; then
  echo "start.sh: port $port already answers as Azurite for another data folder; pick another with --port" >&2
  exit 1
fi

log=$location/azurite.log
# setsid: the server outlives the shell (and the test process) that started it; stop.sh ends it.
setsid node "$main" --blobHost 127.0.0.1 --blobPort "$port" --location "$location" \
  --skipApiVersionCheck --disableTelemetry --silent </dev/null >>"$log" 2>&1 &
echo $! >"$pidfile"

deadline=$((SECONDS + 60))
until ready; do
  if ! running; then
    echo "start.sh: azurite exited while starting; its log ($log):" >&2
    tail -n 20 "$log" >&2
    rm -f "$pidfile"
    exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "start.sh: azurite did not answer on port $port within 60 s; its log ($log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "$connection"
