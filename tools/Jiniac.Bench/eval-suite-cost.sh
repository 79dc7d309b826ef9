#!/usr/bin/env bash
# Cost of the quickstart's evaluation suite against its reference, the perplexity of one held-out
# domain (32k tokens, the quickstart's max_tokens_per_domain), both by the trainer's evaluate verb on
# one thread, on a quickstart-shaped checkpoint (10 steps of en-prose) with the quickstart's tokenizer.
#
# Usage: tools/Jiniac.Bench/eval-suite-cost.sh STATE_DIR [OUT_DIR]
#   STATE_DIR: a quickstart state folder past tokenization (`jiniac run examples/quickstart/pipeline.yaml`
#   stopped once the first stage trains is enough).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=$1
out=${2:-$(mktemp -d)}
trainer="$root/tools/Jiniac.Trainer/bin/Release/net10.0/jiniac-trainer.dll"
job=$(ls "$state"/runs/*/train/en-prose/JOB.json | head -n1)
tokenizer=$(ls "$state"/blobs/tokenizers/*.json | head -n1)
mkdir -p "$out/ppl" "$out/suite"
python3 - "$job" "$tokenizer" "$root/examples/eval/ja-man-mc/test.jsonl" "$out" <<'PY'
import json, sys
job, tokenizer, mc, out = sys.argv[1:]
j = json.load(open(job))
j["output_dir"] = out + "/train"
j["train"].update(train_tokens=8 * 128 * 10, checkpoint_interval=10, threads=1)
json.dump(j, open(out + "/JOB.json", "w"))
prefix = j["data"][0]["prefix"]
base = {"checkpoint": out + "/train/checkpoints/step_0000010", "context_length": 128, "max_tokens_per_domain": 32000, "threads": 1}
json.dump(dict(base, sets=[{"domain": "en-prose", "prefixes": [prefix], "text_bytes": 1}], output=out + "/ppl/results.json"), open(out + "/ppl/EVAL.json", "w"))
json.dump(dict(base, sets=[], output=out + "/suite/results.json", tokenizer=tokenizer,
               tasks=[{"name": "ja-mc/man", "format": "jcommonsenseqa", "path": mc, "limit": 100}],
               generations=[{"name": "ja-mc", "prompts": ["Call me", "LibreOffice の", "Debian は"], "max_new_tokens": 24, "greedy": True,
                             "samples": 1, "temperature": 0.8, "top_p": 0.9, "repetition_penalty": 1.0, "seed": 1234, "ngram": 3}]),
          open(out + "/suite/EVAL.json", "w"))
PY
dotnet "$trainer" train --job "$out/JOB.json" > "$out/train.log" 2>&1
for k in ppl suite ppl suite; do
  /usr/bin/time -f "$k %e s" dotnet "$trainer" evaluate --job "$out/$k/EVAL.json" > "$out/$k/log" 2>&1
  tail -n1 "$out/$k/log"
done
