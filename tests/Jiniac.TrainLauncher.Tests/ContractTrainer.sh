#!/usr/bin/env bash
# ContractTrainer.sh — a small trainer that honours docs/trainer-contract.md to the letter, except
# that it learns nothing: its "loss" is a fixed function of the step. It exists so the launcher's and
# evaluator's process handling (JOB.json/EVAL.json in, metrics.jsonl, checkpoints via temp+rename
# with COMPLETE last, DONE.json, results.json, SIGTERM -> save + exit 75, crashes, resume) is tested
# against a real process without the TorchSharp reference trainer (built elsewhere, and slow).
# It reads only the flat keys of the JSON the platform renders (grep/sed/awk: no jq on CI machines).
#
# Test controls (environment):
#   CONTRACT_TRAINER_STEP_SECONDS   sleep per step (default 0.01)
#   CONTRACT_TRAINER_CRASH_AT_STEP  exit 3 on reaching this step ...
#   CONTRACT_TRAINER_CRASH_TIMES    ... this many times in this output folder (default 1; counted in .crashes)
#   CONTRACT_TRAINER_CRASH_MODE     "step" (default): crash before saving; "mid-checkpoint": crash after
#                                   renaming a checkpoint folder into place but before writing COMPLETE
#   CONTRACT_TRAINER_CRASH_EXIT_CODE the crash's exit code (default 3)
#   CONTRACT_TRAINER_HANG_AT_STEP   on reaching this step (once per output folder, marker .hangs): stop making
#                                   progress without exiting, ignoring SIGTERM (a hung collective; only SIGKILL ends it)
#   CONTRACT_TRAINER_SPIKE_AT_STEP  training this step's batch (i.e. unless skip_batches covers it) diverges the run:
#                                   that step and every later one of this process log "loss": null (a bad batch)
#   CONTRACT_TRAINER_EXIT_CODE      evaluate: exit with this code (and write no results) when set
set -u

verb="${1:-}"; shift || true
job=""
while [ $# -gt 0 ]; do
  case "$1" in
    --job) job="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$job" ] && [ -f "$job" ] || { echo "usage: ContractTrainer.sh train|evaluate --job FILE" >&2; exit 2; }

# Reading JSON uses command substitutions, so it happens before the SIGTERM trap is set: bash 5.2
# can fail to parse a $(...) that a trapped signal interrupts. The training loop uses builtins only.
# json_num KEY FILE / json_str KEY FILE: the first value of a key (numbers / strings / null).
json_num() { grep -o "\"$1\": *-\?[0-9][0-9.eE+-]*" "$2" | head -n1 | sed 's/.*: *//'; }
json_str() { grep -o "\"$1\": *\(\"[^\"]*\"\|null\)" "$2" | head -n1 | sed 's/.*: *//; s/^"//; s/"$//'; }
json_bool() { grep -o "\"$1\": *\(true\|false\)" "$2" | head -n1 | sed 's/.*: *//'; }
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# u64le N: eight little-endian bytes. Builtins only (see the note on signals below).
u64le() { local n=$1 out="" b i; for i in 0 1 2 3 4 5 6 7; do printf -v b '\\x%02x' $(( (n >> (8 * i)) & 255 )); out+=$b; done; printf "$out"; }

if [ "$verb" = "evaluate" ]; then
  if [ -n "${CONTRACT_TRAINER_EXIT_CODE:-}" ]; then
    echo "evaluate: failing on purpose with ${CONTRACT_TRAINER_EXIT_CODE}" >&2
    exit "${CONTRACT_TRAINER_EXIT_CODE}"
  fi
  checkpoint=$(json_str checkpoint "$job"); output=$(json_str output "$job")
  max_tokens=$(json_num max_tokens_per_domain "$job")
  [ -f "$checkpoint/COMPLETE" ] || { echo "checkpoint $checkpoint is not complete" >&2; exit 1; }
  # One set per line: domain, text_bytes, prefixes (space separated).
  sets=$(tr -d '\n' < "$job" | grep -o '{[^{}]*"domain"[^{}]*}')
  results=""; index=0
  while IFS= read -r set; do
    [ -n "$set" ] || continue
    domain=$(printf '%s' "$set" | grep -o '"domain": *"[^"]*"' | sed 's/.*: *"//; s/"$//')
    text_bytes=$(printf '%s' "$set" | grep -o '"text_bytes": *[0-9]*' | sed 's/.*: *//')
    tokens=0
    for prefix in $(printf '%s' "$set" | grep -o '"prefixes": *\[[^]]*\]' | grep -o '"/[^"]*"' | tr -d '"'); do
      # Megatron .idx: 9-byte magic, u64 version, then the dtype code (offset 17) that sizes a .bin element.
      code=$(od -An -tu1 -j17 -N1 "$prefix.idx" | tr -d ' ')
      case "$code" in 1|2) size=1 ;; 3|8) size=2 ;; 4|7) size=4 ;; *) size=8 ;; esac
      tokens=$(( tokens + $(stat -c %s "$prefix.bin") / size ))
    done
    if [ "$max_tokens" -gt 0 ] && [ "$tokens" -gt "$max_tokens" ]; then
      text_bytes=$(awk -v b="$text_bytes" -v m="$max_tokens" -v t="$tokens" 'BEGIN { printf "%d", b * m / t }')
      tokens=$max_tokens
    fi
    line=$(awk -v d="$domain" -v t="$tokens" -v b="$text_bytes" -v i="$index" 'BEGIN {
      loss = 3 + i / 2; printf "{\"domain\": \"%s\", \"tokens\": %d, \"text_bytes\": %d, \"loss\": %.6f, \"perplexity\": %.6f, \"bits_per_byte\": %.6f}", d, t, b, loss, exp(loss), loss * t / log(2) / b }')
    results+="${results:+, }$line"; index=$((index + 1))
  done <<< "$sets"
  printf '{"results": [%s]}\n' "$results" > "$output.tmp" && mv "$output.tmp" "$output"
  echo "evaluate: wrote $output"
  exit 0
fi

[ "$verb" = "train" ] || { echo "unknown verb $verb" >&2; exit 2; }

out=$(json_str output_dir "$job"); resume=$(json_str resume_from "$job"); hash=$(json_str job_hash "$job")
seq=$(json_num seq_length "$job"); mbs=$(json_num micro_batch_size "$job"); budget=$(json_num train_tokens "$job")
interval=$(json_num checkpoint_interval "$job"); log_interval=$(json_num log_interval "$job"); seed=$(json_num seed "$job")
lr=$(json_num lr "$job")
printf -v config '{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": %s, "hidden_size": %s, "intermediate_size": %s, "num_hidden_layers": %s, "num_attention_heads": %s, "num_key_value_heads": %s, "hidden_act": "silu", "max_position_embeddings": %s, "rms_norm_eps": %s, "rope_theta": %s, "tie_word_embeddings": %s, "bos_token_id": %s, "eos_token_id": %s, "torch_dtype": "float32"}' \
  "$(json_num vocab_size "$job")" "$(json_num hidden_size "$job")" "$(json_num intermediate_size "$job")" \
  "$(json_num num_hidden_layers "$job")" "$(json_num num_attention_heads "$job")" "$(json_num num_key_value_heads "$job")" \
  "$(json_num max_position_embeddings "$job")" "$(json_num rms_norm_eps "$job")" "$(json_num rope_theta "$job")" \
  "$(json_bool tie_word_embeddings "$job")" "$(json_num bos_token_id "$job")" "$(json_num eos_token_id "$job")"
batch=$(( seq * mbs )); total=$(( (budget + batch - 1) / batch ))
# skip_batches: [from, to) pairs, flattened; the property order is the launcher's (from, then to).
skips=$(tr -d ' \n' < "$job" | grep -o '"skip_batches":\[[^]]*\]' | grep -o '"from":[0-9]*,"to":[0-9]*' | sed 's/"from"://; s/,"to":/ /' | tr '\n' ' ')
read -r -a skip_pairs <<< "$skips"
# is_skipped STEP: builtins only (it runs inside the trapped loop).
is_skipped() { local i; for (( i = 0; i + 1 < ${#skip_pairs[@]}; i += 2 )); do
  [ "$1" -ge "${skip_pairs[i]}" ] && [ "$1" -lt "${skip_pairs[i + 1]}" ] && return 0; done; return 1; }
step_seconds="${CONTRACT_TRAINER_STEP_SECONDS:-0.01}"
mkdir -p "$out/checkpoints"

step=0
if [ "$resume" != "null" ] && [ -n "$resume" ]; then
  [ -f "$resume/COMPLETE" ] || { echo "resume_from $resume is not complete" >&2; exit 1; }
  step=$(json_num step "$resume/trainer_state.json")
  echo "train: resuming from $resume at step $step"
else
  echo "train: fresh start, $total steps"
fi

# loss_at STEP: sets $loss = 2 + 160 / (20 + STEP), to six decimals, in integer arithmetic.
loss_at() { local micro=$(( 2000000 + 160000000 / (20 + $1) )); printf -v loss '%d.%06d' $(( micro / 1000000 )) $(( micro % 1000000 )); }
# now: sets $now to the UTC time with milliseconds.
now() { local t=$EPOCHREALTIME; TZ=UTC printf -v now '%(%Y-%m-%dT%H:%M:%S)T.%sZ' "${t%.*}" "${t#*.}"; now="${now:0:23}Z"; }

save_checkpoint() { # save_checkpoint STEP [crash-before-complete]
  local s=$1 name tmp final header
  printf -v name 'step_%07d' "$s"; tmp="$out/checkpoints/.$name.tmp"; final="$out/checkpoints/$name"
  loss_at "$s"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # A one-tensor safetensors file: u64 header length, JSON header, 4 bytes of F32 data.
  header='{"model.embed_tokens.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}}'
  { u64le ${#header}; printf '%s' "$header"; printf '\x00\x00\x80\x3f'; } > "$tmp/model.safetensors"
  { u64le 2; printf '{}'; } > "$tmp/optimizer.safetensors"
  printf '%s\n' "$config" > "$tmp/config.json"
  printf '{"step": %d, "tokens": %d, "loss": %s, "total_steps": %d, "seed": %s, "job_hash": "%s"}\n' \
    "$s" $(( s * batch )) "$loss" "$total" "$seed" "$hash" > "$tmp/trainer_state.json"
  if [ "${2:-}" = "crash-before-complete" ]; then
    rm -rf "$final"; mv "$tmp" "$final"
    echo "train: simulated crash with checkpoint $name renamed but not COMPLETE" >&2
    exit 3
  fi
  : > "$tmp/COMPLETE"
  rm -rf "$final"; mv "$tmp" "$final"
  echo "train: saved $name"
}

stop=0; diverged=0
trap 'stop=1' TERM INT

crashes_file="$out/.crashes"
while [ "$step" -lt "$total" ]; do
  sleep "$step_seconds"
  step=$((step + 1))
  if [ -n "${CONTRACT_TRAINER_CRASH_AT_STEP:-}" ] && [ "$step" -eq "$CONTRACT_TRAINER_CRASH_AT_STEP" ]; then
    crashes=0
    [ -f "$crashes_file" ] && read -r crashes < "$crashes_file"
    if [ "$crashes" -lt "${CONTRACT_TRAINER_CRASH_TIMES:-1}" ]; then
      echo $((crashes + 1)) > "$crashes_file"
      if [ "${CONTRACT_TRAINER_CRASH_MODE:-step}" = "mid-checkpoint" ]; then
        save_checkpoint "$step" crash-before-complete
      fi
      echo "train: simulated crash at step $step" >&2
      exit "${CONTRACT_TRAINER_CRASH_EXIT_CODE:-3}"
    fi
  fi
  if [ -n "${CONTRACT_TRAINER_HANG_AT_STEP:-}" ] && [ "$step" -eq "$CONTRACT_TRAINER_HANG_AT_STEP" ] && [ ! -f "$out/.hangs" ]; then
    : > "$out/.hangs"
    echo "train: simulated hang at step $step" >&2
    trap '' TERM INT
    while :; do sleep 1; done
  fi
  skipped=0; is_skipped "$step" && skipped=1
  [ "$skipped" -eq 0 ] && [ "$step" = "${CONTRACT_TRAINER_SPIKE_AT_STEP:-}" ] && { diverged=1; echo "train: simulated bad batch at step $step" >&2; }
  if [ "$skipped" -eq 1 ]; then
    echo "train: step $step skipped"
  elif [ $(( step % log_interval )) -eq 0 ] || [ "$step" -eq "$total" ]; then
    loss_at "$step"; now
    [ "$diverged" -eq 1 ] && loss=null
    printf '{"step": %d, "tokens": %d, "loss": %s, "lr": %s, "grad_norm": 1.0, "tokens_per_second": %d, "time": "%s"}\n' \
      "$step" $(( step * batch )) "$loss" "$lr" "$batch" "$now" >> "$out/metrics.jsonl"
  fi
  if [ $(( step % interval )) -eq 0 ] || [ "$step" -eq "$total" ]; then
    save_checkpoint "$step"
  fi
  if [ "$stop" -eq 1 ]; then
    [ $(( step % interval )) -eq 0 ] || [ "$step" -eq "$total" ] || save_checkpoint "$step"
    echo "train: stopped by signal at step $step"
    exit 75
  fi
done

printf -v final '%s/checkpoints/step_%07d' "$out" "$total"
loss_at "$total"
printf '{"step": %d, "tokens": %d, "loss": %s, "checkpoint": "%s"}\n' "$total" $(( total * batch )) "$loss" "$final" > "$out/DONE.json.tmp"
mv "$out/DONE.json.tmp" "$out/DONE.json"
echo "train: done at step $total"
exit 0
