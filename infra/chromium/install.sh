#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test (tests/Jiniac.Orchestrator.Tests/DashboardBrowserTests.cs):
# headless, driven with --dump-dom and --screenshot, no test tool's own browser download. Idempotent; needs
# root (CI runs as root on Debian 12).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
# Through the shared installer: other test processes may be installing at the same time.
"$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh" chromium fonts-dejavu-core
/usr/bin/chromium --version
