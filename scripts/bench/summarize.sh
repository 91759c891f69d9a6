#!/usr/bin/env bash
# Summarization of Debian package descriptions (`text` -> one-line `summary`), English and Brazilian
# Portuguese: trains configs/summarize-{en,pt}.json (a small T5 from scratch, with a SentencePiece
# vocabulary trained on the training split; the training budget is train.max_steps), then scores
# the saved model on the first TEST_ROWS rows of the test split next to the lead baseline (the first
# sentence of `text`), both computed by `nlpc eval --task summarize --lead-baseline` in one run.
# Prints training time, steps and the two ROUGE tables with 95 % bootstrap intervals.
#   scripts/bench/summarize.sh [BUILD_DIR] [THREADS] [TEST_ROWS] [LANG ...]     (LANG: en, pt)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${2:-2}
ROWS=${3:-500}
shift $(( $# < 3 ? $# : 3 ))
LANGS=${*:-en pt}
RUNS=${NLPC_RUNS_DIR:-runs}
for lang in $LANGS; do
  case $lang in
    en) ds=../shared/datasets/debian-packages-en ;;
    pt) ds=../shared/datasets/debian-packages-pt_BR ;;
    *) echo "unknown language '$lang' (en or pt)" >&2; exit 2 ;;
  esac
  echo "== $lang: $ds, configs/summarize-$lang.json, $THREADS thread(s)"
  t0=$(date +%s)
  out=$("$BUILD/nlpc" --threads "$THREADS" --quiet train --config "configs/summarize-$lang.json" \
        --runs-dir "$RUNS" --experiment summarize-bench --run-name "summarize-$lang")
  t1=$(date +%s)
  echo "$out"
  id=$(echo "$out" | sed -n 's/^run \([0-9a-f]\{32\}\).*/\1/p' | head -1)
  echo "wall time of nlpc train: $((t1 - t0)) s"
  "$BUILD/nlpc" --threads "$THREADS" --quiet eval --task summarize --model "$RUNS/summarize-bench/$id/artifacts/model" \
    --data "$ds/test.csv" --max-rows "$ROWS" --lead-baseline --bootstrap 1000 \
    --runs-dir "$RUNS" --experiment summarize-bench --run-name "summarize-$lang-test"
done
