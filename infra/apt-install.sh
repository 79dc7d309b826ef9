#!/usr/bin/env bash
# apt-get install of the named Debian packages, for the infra/ start scripts (CI: clean Debian 12, root).
# Several test processes may install at once: one at a time through a lock of ours, and apt's own
# locks (held by any other apt on the machine) are waited for, never failed on.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
exec 9>/tmp/jiniac-apt.lock
flock 9
for attempt in $(seq 1 60); do
  if apt-get -o DPkg::Lock::Timeout=300 update -qq 2>/tmp/jiniac-apt-update.err; then
    break
  fi
  grep -q 'Could not get lock' /tmp/jiniac-apt-update.err || { cat /tmp/jiniac-apt-update.err >&2; exit 1; }
  sleep 5
done
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
