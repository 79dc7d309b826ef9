#!/usr/bin/env bash
# Debian's python3-numpy for /usr/bin/python3: the independent checks of published model folders
# (tests/Jiniac.Publisher.Tests/py/check_llama_layout.py) use Python's standard library and numpy only,
# never transformers. Idempotent; needs root (CI runs as root on Debian 12).
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt (another test process) is waited for rather than failed on.
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3 python3-numpy >/dev/null
"$PY" -c 'import numpy; print("numpy", numpy.__version__)'
