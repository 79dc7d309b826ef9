#!/usr/bin/env bash
# Tokenizer throughput: Jiniac.Text's BpeTokenizer vs Hugging Face tokenizers (npm tokenizers@0.23.2, Rust),
# same tokenizer.json, same documents, cold (a fresh tokenizer per pass: text its cache has not seen) and warm
# (the same instance pass after pass), one core and all cores. Checks that both give identical ids, then prints
# Markdown tables.
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
gunzip -c "$root/tests/Jiniac.Text.Tests/TestData/llama2-tokenizer.json.gz" > "$work/llama2.json"

field() { grep "^RESULT impl=$2 mode=$3 " "$1" | sed -n "s/.* $4=\([^ ]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }

cores=$(nproc)
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $cores cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dotnet $(dotnet --version); node $(node --version); tokenizers@0.23.2; $seconds s per measurement"
one=()
all=()
status=0
for corpus in en ja; do
  for tok in gpt4o llama2 trained-1000; do
    out="$work/$corpus-$tok"
    same=yes
    echo "== $corpus / $tok" >&2
    # Interleaved, so both sides see the same machine load: HF 1 core, ours 1 thread, HF all cores, ours all.
    RAYON_NUM_THREADS=1 node "$root/tools/bench/hf-tokenize.js" --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" --ids-out "$out.hf.ids" > "$out.hf1.log"
    dotnet "$bench" tokenize --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" --threads 1 --ids-out "$out.jiniac.ids" > "$out.j1.log"
    ml1c=—; ml1w=—
    if [ "$tok" = gpt4o ]; then
      # Microsoft.ML.Tokenizers' Tiktoken with its own o200k_base data: the same ids as GPT-4o's tokenizer.json.
      dotnet "$bench" tokenize --impl mlnet-o200k --text "$work/$corpus.txt" --seconds "$seconds" --threads 1 > "$out.ml1.log"
      cat "$out.ml1.log" >&2
      ml1c=$(field "$out.ml1.log" mlnet-o200k cold cpu_mb_s); ml1w=$(field "$out.ml1.log" mlnet-o200k warm cpu_mb_s)
      if [ "$(field "$out.ml1.log" mlnet-o200k cold checksum)" != "$(field "$out.hf1.log" hf cold checksum)" ]; then
        same="$same; ML.NET **differs**"
      fi
    fi
    RAYON_NUM_THREADS=$cores node "$root/tools/bench/hf-tokenize.js" --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" > "$out.hfn.log"
    dotnet "$bench" tokenize --tokenizer "$work/$tok.json" --text "$work/$corpus.txt" \
      --seconds "$seconds" --threads "$cores" --modes cold,warm > "$out.jn.log"
    cat "$out.hf1.log" "$out.j1.log" "$out.hfn.log" "$out.jn.log" >&2
    for log in "$out.j1.log" "$out.hfn.log" "$out.jn.log"; do
      for mode in cold warm; do
        if [ "$(field "$out.hf1.log" hf cold checksum)" != "$(grep "^RESULT .* mode=$mode " "$log" | sed -n 's/.* checksum=\([^ ]*\).*/\1/p')" ]; then
          same="**NO** (checksums differ: see $log)"; status=1
        fi
      done
    done
    if ! cmp -s "$out.hf.ids" "$out.jiniac.ids"; then same="**NO** (first 200 documents differ)"; status=1; fi
    mb=$(awk -v b="$(field "$out.hf1.log" hf cold bytes)" 'BEGIN { printf "%.2f", b / 1e6 }')
    # One core: MB per CPU-second of the process (the machine is shared, so wall time includes waiting for a core);
    # the wall-clock ratio of the cold pass is shown too. All cores: wall MB/s (scaling needs wall time).
    h1c=$(field "$out.hf1.log" hf cold cpu_mb_s); h1w=$(field "$out.hf1.log" hf warm cpu_mb_s)
    j1c=$(field "$out.j1.log" jiniac cold cpu_mb_s); j1n=$(field "$out.j1.log" jiniac nocache cpu_mb_s); j1w=$(field "$out.j1.log" jiniac warm cpu_mb_s)
    j1x=$(field "$out.j1.log" jiniac cleared cpu_mb_s)
    wall=$(ratio "$(field "$out.j1.log" jiniac cold mb_s)" "$(field "$out.hf1.log" hf cold mb_s)")
    hnc=$(field "$out.hfn.log" hf cold mb_s); hnw=$(field "$out.hfn.log" hf warm mb_s)
    jnc=$(field "$out.jn.log" jiniac cold mb_s); jnw=$(field "$out.jn.log" jiniac warm mb_s)
    j1cw=$(field "$out.j1.log" jiniac cold mb_s)
    # On a shared machine wall time at N threads measures the other load; MB per CPU-second at N threads over
    # the same at 1 thread is the parallel work efficiency (1.0: no time lost to locks, contention or idle
    # waits), and N times it is the speed-up N free cores would give.
    jncc=$(field "$out.jn.log" jiniac cold cpu_mb_s); hncc=$(field "$out.hfn.log" hf cold cpu_mb_s)
    eff=$(awk -v a="$jncc" -v b="$j1c" 'BEGIN { printf "%.2f", a / b }')
    heff=$(awk -v a="$hncc" -v b="$h1c" 'BEGIN { printf "%.2f", a / b }')
    proj=$(awk -v e="$eff" -v n="$cores" 'BEGIN { printf "%.1f×", e * n }')
    mlr=—; [ "$ml1c" != — ] && mlr=$(ratio "$j1c" "$ml1c")
    one+=("| $corpus | $tok | $mb | $h1c | $ml1c | $j1c | **$(ratio "$j1c" "$h1c")** | $wall | $mlr | $j1x | $(ratio "$j1x" "$h1c") | $j1n | $(ratio "$j1n" "$h1c") | $h1w | $ml1w | $j1w | $(ratio "$j1w" "$h1w") | $same |")
    all+=("| $corpus | $tok | $hnc | $jnc | **$(ratio "$jnc" "$hnc")** | $j1cw | $(ratio "$jnc" "$j1cw") | $hncc | $jncc | **$(ratio "$jncc" "$hncc")** | $heff | $eff | **$proj** | $hnw | $jnw | $(ratio "$jnw" "$hnw") |")
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "One core (HF: encodeBatch, RAYON_NUM_THREADS=1; ML.NET: TiktokenTokenizer o200k_base; ours: 1 thread). MB per CPU-second."
echo
echo "| text | tokenizer | MB | HF cold | ML.NET cold | ours cold | ours/HF cold | same, wall clock | ours/ML.NET cold | ours cleared | ours cleared/HF cold | ours no cache | ours no cache/HF cold | HF warm | ML.NET warm | ours warm | ours/HF warm | ids identical |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${one[@]}"
echo
echo "All $cores cores (HF: encodeBatch, RAYON_NUM_THREADS=$cores; ours: Parallel.For over documents, $cores threads). Wall-clock MB/s, then MB per CPU-second."
echo
echo "| text | tokenizer | HF cold | ours cold | ours/HF cold | ours cold, 1 thread | ours wall scaling ($cores thr / 1 thr) | HF cold per CPU-s | ours cold per CPU-s | ours/HF per CPU-s | HF work efficiency ($cores thr / 1 thr, per CPU-s) | ours work efficiency | ours speed-up on $cores free cores (cores × efficiency) | HF warm | ours warm | ours/HF warm |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${all[@]}"
exit $status
