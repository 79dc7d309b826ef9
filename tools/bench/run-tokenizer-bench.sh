#!/usr/bin/env bash
# Tokenizer throughput: Jiniac.Text's BpeTokenizer vs Hugging Face tokenizers (npm tokenizers@0.23.2, Rust),
# same tokenizer.json, same documents. Checks that both give identical ids, then prints a Markdown table.
# Usage: tools/bench/run-tokenizer-bench.sh [seconds per measurement, default 5]
# Needs dotnet, node >= 18 and npm (the npm package goes to a temp folder, never into the repository).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/jiniac-tokbench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== installing tokenizers@0.23.2 into $work/npm" >&2
mkdir -p "$work/npm"
(cd "$work/npm" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --silent tokenizers@0.23.2 >&2)
export NODE_PATH="$work/npm/node_modules"

echo "== building tools/Jiniac.Bench (Release)" >&2
dotnet build "$root/tools/Jiniac.Bench/Jiniac.Bench.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly >&2
bench="$root/tools/Jiniac.Bench/bin/Release/net10.0/jiniac-bench.dll"

# Inputs. English: the "text" field of every Moby-Dick record; Japanese: the ja-docs Markdown files in
# name order. Pieces are joined with a blank line, and both tools split documents on blank lines.
node -e '
  const fs = require("fs");
  // The corpus holds a deliberately truncated record (ingest must skip it); skip it here too.
  const recs = [];
  let bad = 0;
  for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
    if (!l.trim()) continue;
    try { recs.push(JSON.parse(l).text); } catch { bad++; }
  }
  if (bad) console.error(`moby-dick.jsonl: ${bad} malformed record(s) skipped`);
  fs.writeFileSync(process.argv[2], recs.join("\n\n"));
' "$root/examples/quickstart/data/en-prose/moby-dick.jsonl" "$work/en.txt"
find "$root/examples/quickstart/data/ja-docs" -name '*.md' -print0 | LC_ALL=C sort -z |
  xargs -0 -I{} sh -c 'cat "$1"; printf "\n\n"' _ {} > "$work/ja.txt"
gunzip -c "$root/tests/Jiniac.Text.Tests/TestData/gpt4o-tokenizer.json.gz" > "$work/gpt4o.json"
cp "$root/tests/Jiniac.Text.Tests/TestData/trained-1000.json" "$work/trained-1000.json"

field() { grep "^RESULT impl=$2 mode=$3 " "$1" | sed -n "s/.* $4=\([^ ]*\).*/\1/p"; }

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dotnet $(dotnet --version); node $(node --version); tokenizers@0.23.2; $seconds s per measurement"
rows=()
status=0
for corpus in en ja; do
  for tok in gpt4o trained-1000; do
    out="$work/$corpus-$tok"
    echo "== $corpus / $tok" >&2
    node "$root/tools/bench/hf-tokenize.js" --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" --ids-out "$out.hf.ids" > "$out.hf.log"
    dotnet "$bench" tokenize --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" --threads all --also-no-cache --ids-out "$out.jiniac.ids" > "$out.jiniac.log"
    cat "$out.hf.log" "$out.jiniac.log" >&2
    hf1=$(field "$out.hf.log" hf single mb_s); hfb=$(field "$out.hf.log" hf batch mb_s)
    hft=$(field "$out.hf.log" hf batch threads)
    j1=$(field "$out.jiniac.log" jiniac single mb_s); jn=$(field "$out.jiniac.log" jiniac parallel mb_s)
    jt=$(field "$out.jiniac.log" jiniac parallel threads); j0=$(field "$out.jiniac.log" jiniac single-nocache mb_s)
    hfsum=$(field "$out.hf.log" hf single checksum); jsum=$(field "$out.jiniac.log" jiniac single checksum)
    mb=$(awk -v b="$(field "$out.hf.log" hf single bytes)" 'BEGIN { printf "%.2f", b / 1e6 }')
    same=yes
    if [ "$hfsum" != "$jsum" ] || ! cmp -s "$out.hf.ids" "$out.jiniac.ids"; then
      same="**NO** (checksum hf $hfsum, ours $jsum)"; status=1
    fi
    rows+=("$(awk -v c="$corpus" -v t="$tok" -v mb="$mb" -v hf1="$hf1" -v hfb="$hfb" -v hft="$hft" -v j1="$j1" -v jn="$jn" -v jt="$jt" -v j0="$j0" -v same="$same" \
      'BEGIN { printf "| %s | %s | %s | %s | %s (%s thr) | %s | %s | %s (%s thr) | **%.1f×** | %.1f× | %.1f× | %s |", c, t, mb, hf1, hfb, hft, j1, j0, jn, jt, j1 / hf1, j0 / hf1, jn / hfb, same }')")
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| text | tokenizer | MB | HF encode, MB/s | HF encodeBatch, MB/s | ours 1 thread, MB/s | ours 1 thread no cache, MB/s | ours all cores, MB/s | ours/HF 1 thread | ours no cache/HF 1 thread | ours all cores / HF encodeBatch | ids identical |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
exit $status
