#!/usr/bin/env bash
# Debian's python3-numpy for /usr/bin/python3: the independent checks of published model folders
# (tests/Jiniac.Publisher.Tests/py/check_llama_layout.py) use Python's standard library and numpy only,
# never transformers. Idempotent; needs root (CI runs as root on Debian 12).
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then
  exit 0
fi
# Through the shared installer: other test processes may be installing at the same time, and
# apt-get update's own lock is retried there, not failed on.
"$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh" python3 python3-numpy
"$PY" -c 'import numpy; print("numpy", numpy.__version__)'
