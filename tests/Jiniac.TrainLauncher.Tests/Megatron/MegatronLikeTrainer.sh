#!/usr/bin/env bash
# MegatronLikeTrainer.sh — stands in for `torchrun … pretrain_gpt.py` in the launcher's tests (there is no
# Megatron-LM, GPU or PyTorch here). It takes the flags the Megatron adapter renders and behaves, as far as
# the launcher can see, as reference/megatron-training-log.md describes Megatron: progress lines
# " [time] iteration N/ T | consumed samples: … | lm loss: … |" on stdout, checkpoints
# <save>/iter_NNNNNNN/mp_rank_00/model_optim_rng.pt with latest_checkpointed_iteration.txt moved last,
# resume from the tracker with --load, --finetune starting at iteration 0, --exit-signal-handler
# (SIGTERM: save, exit 0). It learns nothing: the loss is a fixed function of the iteration.
#
# Test controls (environment):
#   MEGATRON_LIKE_STEP_SECONDS   sleep per iteration (default 0.01)
#   MEGATRON_LIKE_EXIT_AT        on reaching this iteration (after its checkpoint, if any) exit with ...
#   MEGATRON_LIKE_EXIT_CODE      ... this code (16: resume to disambiguate, 17: failed validation), once per save folder
#   MEGATRON_LIKE_SPIKE_AT       training this iteration (unless --skip-train-iteration-range covers it) diverges the
#                                run: its lm loss and every later one is 9.9E+01
set -u
echo "megatron-like args: $*"
train_iters=""; save=""; load=""; save_interval=1000000; ckpt_step=""; finetune=0; gbs=1; log_interval=1; signal_handler=0
skip_ranges=()
while [ $# -gt 0 ]; do
  case "$1" in
    --train-iters) train_iters=$2; shift 2 ;;
    --save) save=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --save-interval) save_interval=$2; shift 2 ;;
    --ckpt-step) ckpt_step=$2; shift 2 ;;
    --global-batch-size) gbs=$2; shift 2 ;;
    --log-interval) log_interval=$2; shift 2 ;;
    --finetune) finetune=1; shift ;;
    --exit-signal-handler) signal_handler=1; shift ;;
    --skip-train-iteration-range) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do skip_ranges+=("$1"); shift; done ;;
    *) shift ;;
  esac
done
[ -n "$train_iters" ] && [ -n "$save" ] || { echo "megatron-like: --train-iters and --save are required" >&2; exit 2; }

start=0
if [ -n "$load" ] && [ "$finetune" = 0 ]; then
  start=$(cat "$load/latest_checkpointed_iteration.txt" 2>/dev/null || echo 0)
  [ -n "$ckpt_step" ] && start=$ckpt_step
  echo " loading checkpoint from $load at iteration $start"
fi

save_checkpoint() {
  local it=$1 folder
  printf -v folder '%s/iter_%07d' "$save" "$it"
  echo "saving checkpoint at iteration $it to $save in legacy format"
  mkdir -p "$folder/mp_rank_00"
  printf 'weights of iteration %s\n' "$it" > "$folder/mp_rank_00/model_optim_rng.pt"
  printf '%s' "$it" > "$save/.tracker.tmp" && mv "$save/.tracker.tmp" "$save/latest_checkpointed_iteration.txt"
  echo "  successfully saved checkpoint from iteration $it to $save"
}

# is_skipped IT: Megatron's ranges are inclusive "first-last".
is_skipped() { local r; for r in "${skip_ranges[@]}"; do (( $1 >= ${r%-*} && $1 <= ${r#*-} )) && return 0; done; return 1; }

stop=0
diverged=0
[ "$signal_handler" = 1 ] && trap 'stop=1' TERM
mkdir -p "$save"
step_seconds=${MEGATRON_LIKE_STEP_SECONDS:-0.01}
for (( it = start + 1; it <= train_iters; it++ )); do
  sleep "$step_seconds" & wait $!
  if (( it % log_interval == 0 )); then
    printf -v loss '%.6E' "$(( 10000000 / (it + 10) ))e-6"
    if [ "$it" = "${MEGATRON_LIKE_SPIKE_AT:-}" ] && ! is_skipped "$it"; then diverged=1; fi
    [ "$diverged" = 1 ] && loss=9.900000E+01
    printf ' [%s] iteration %8d/%8d | consumed samples: %12d | elapsed time per iteration (ms): 10.0 | learning rate: 3.000E-04 | global batch size: %5d | lm loss: %s | loss scale: 1.0 | grad norm: 0.500 | number of skipped iterations:   0 | number of nan iterations:   0 |\n' \
      "$(date -u '+%Y-%m-%d %H:%M:%S.%6N')" "$it" "$train_iters" "$(( it * gbs ))" "$gbs" "$loss"
  fi
  if (( it % save_interval == 0 || it == train_iters )) || [ "$stop" = 1 ]; then
    save_checkpoint "$it"
  fi
  if [ "$stop" = 1 ]; then
    echo "exiting program after receiving SIGTERM."
    exit 0
  fi
  if [ -n "${MEGATRON_LIKE_EXIT_AT:-}" ] && (( it == MEGATRON_LIKE_EXIT_AT )) && [ ! -f "$save/.exited" ]; then
    touch "$save/.exited"
    echo "exiting with code ${MEGATRON_LIKE_EXIT_CODE} at iteration $it"
    exit "${MEGATRON_LIKE_EXIT_CODE}"
  fi
done
echo "[after training is done] datetime: $(date -u '+%Y-%m-%d %H:%M:%S')"
exit 0
