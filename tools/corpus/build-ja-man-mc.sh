#!/usr/bin/env bash
# Rebuild the bundled Japanese multiple-choice set (examples/eval/ja-man-mc) from Debian's
# manpages-ja. Maintainer tool: needs apt-get (with `apt-get update` done once), dpkg-deb,
# sha256sum and python3; root is not needed.
#
# Usage: tools/corpus/build-ja-man-mc.sh [OUT_DIR]   (default examples/eval/ja-man-mc)
# Deterministic: the package is pinned by version and sha256 and every choice is made by
# SHA-256 of the command name, so two runs give byte-identical files.
# ALLOW_VERSION_DRIFT=1 takes Debian's current version when the pinned one is gone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/examples/eval/ja-man-mc}"
PKG=manpages-ja
VER=0.5.0.0.20221215+dfsg-1
SHA256=4d270e9a1e83be4de0c072a110892a17dc9caa4b501257324006ac28d82c5743

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
if [ "${ALLOW_VERSION_DRIFT:-0}" = 1 ]; then
  apt-get download "$PKG" >/dev/null
else
  apt-get download "$PKG=$VER" >/dev/null
  got="$(sha256sum ./*.deb | cut -d' ' -f1)"
  [ "$got" = "$SHA256" ] || { echo "build-ja-man-mc: $PKG sha256 $got, pinned $SHA256" >&2; exit 1; }
fi
dpkg-deb -x ./*.deb x
mkdir -p "$OUT"
python3 "$ROOT/tools/corpus/ja_man_mc.py" x/usr/share/man/ja "$OUT"
cp x/usr/share/doc/manpages-ja/copyright "$OUT/LICENSE-manpages-ja.txt"
