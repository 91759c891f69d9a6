#!/usr/bin/env bash
# Training throughput (samples/s, from the run's train/samples_per_s) of nlpc's default thread
# settings against explicit ones, measured alternately in one run:
#   scripts/bench/train_threads.sh [ROUNDS] [STEPS]
# Workloads: T5-tiny summarization (configs/summarize-en.json, data/ not needed beyond ../shared)
# and BERT-mini classification from scratch (configs/scratch-bert-mini.json). Each variant runs the
# same STEPS optimizer steps with validation off. Prints one line per run, then the mean per variant.
#   env: NLPC=build/nlpc  VARIANTS="default:OMP_WAIT_POLICY=ACTIVE:--threads=1"
# A variant is "default" (nlpc's own settings), global flags (--threads=1) or an environment
# variable set for that run (OMP_WAIT_POLICY=ACTIVE: libgomp's spinning, nlpc's default before it
# chose passive waiting).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
STEPS=${2:-120}
NLPC=${NLPC:-build/nlpc}
IFS=: read -r -a VARIANTS <<< "${VARIANTS:-default:OMP_WAIT_POLICY=ACTIVE:--threads=1}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
declare -A CFG=(
  [t5-tiny]="--config configs/summarize-en.json --set train.max_steps=$STEPS --set train.eval_every=0 --set eval.valid_rows=10"
  [bert-mini]="--config configs/scratch-bert-mini.json --set train.max_steps=$STEPS --set train.epochs=0 --set train.eval_every=0"
)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
declare -A SUM CNT
for ((r = 0; r < ROUNDS; r++)); do
  order=("${VARIANTS[@]}")
  if ((r % 2)); then mapfile -t order < <(printf '%s\n' "${VARIANTS[@]}" | tac); fi
  for w in t5-tiny bert-mini; do
    for v in "${order[@]}"; do
      flags=""
      envs=()
      if [[ $v == --* ]]; then flags=${v//=/ }; elif [[ $v != default ]]; then envs=("$v"); fi
      dir="$TMP/$w-$r-${v//[^a-z0-9]/_}"
      # shellcheck disable=SC2086
      env "${envs[@]}" "$NLPC" $flags -q train ${CFG[$w]} --runs-dir "$dir" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; exit 1; }
      sps=$(grep -h '"train/samples_per_s"' "$dir"/*/*/metrics.jsonl | tail -1 | sed 's/.*"value": *\([0-9.eE+-]*\).*/\1/')
      printf '%-10s %-22s round %d  %8.1f samples/s\n' "$w" "$v" "$r" "$sps"
      SUM[$w/$v]=$(awk -v a="${SUM[$w/$v]:-0}" -v b="$sps" 'BEGIN{print a+b}')
      CNT[$w/$v]=$(( ${CNT[$w/$v]:-0} + 1 ))
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in "${!SUM[@]}"; do
  awk -v k="$k" -v s="${SUM[$k]}" -v n="${CNT[$k]}" 'BEGIN{printf "mean %-34s %8.1f samples/s\n", k, s/n}'
done | sort
