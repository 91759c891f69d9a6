#!/usr/bin/env bash
# n-gram baseline vs fastText and scikit-learn, measured in the same run (docs/benchmarks.md).
#   scripts/bench/baseline.sh [DATA_DIR] [COLS]
# DATA_DIR: a folder with train.csv / valid.csv / test.csv (default ../shared/datasets/debian-packages-en)
# COLS: text column(s), comma-separated, joined with a newline (default: summary,text, the input on which
# the reference figures in issue 5 were obtained). Needs Debian fasttext and python3-sklearn.
# Environment: NLPC_BUILD_DIR (default build), THREADS (default: nproc), SKIP_TAGS=1,
# NLPC_CHAR=2-5 (also run the word+char variant: more accurate, about 4x the training time).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${1:-../shared/datasets/debian-packages-en}"
COLS="${2:-summary,text}"
BUILD="${NLPC_BUILD_DIR:-build}"
THREADS="${THREADS:-$(nproc)}"
PY=/usr/bin/python3
REF=scripts/bench/baseline_ref.py
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ninja -C "$BUILD" bench_ngram_baseline >/dev/null
json() { $PY -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

echo "data: $DATA  text: $COLS  threads: $THREADS  host: $(hostname)  load: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- section (single-label) ---
NLPC=$("$BUILD"/bench_ngram_baseline --data "$DATA" --text-column "$COLS" --task section --char 0 --threads "$THREADS" --valid 2>/dev/null | tail -n 1)
NLPC_C=""
if [ -n "${NLPC_CHAR:-}" ]; then
  NLPC_C=$("$BUILD"/bench_ngram_baseline --data "$DATA" --text-column "$COLS" --task section --char "$NLPC_CHAR" --threads "$THREADS" --valid 2>/dev/null | tail -n 1)
fi
$PY $REF fasttext-data "$DATA" "$COLS" "$WORK" >/dev/null
/usr/bin/time -f "%e %U %S" -o "$WORK/ft.time" fasttext supervised -input "$WORK/train.ft" -output "$WORK/ft" \
  -wordNgrams 2 -epoch 25 -lr 0.5 -thread "$THREADS" -verbose 0
fasttext predict "$WORK/ft.bin" "$WORK/test.ft" > "$WORK/ft.pred"
FT=$($PY $REF fasttext-score "$DATA" "$WORK/ft.pred")
read -r FT_WALL FT_USER FT_SYS < "$WORK/ft.time"
FT_CPU=$($PY -c "print($FT_USER + $FT_SYS)")
SK=$($PY $REF sklearn-section "$DATA" "$COLS" "$THREADS")

printf "\nsection (58 classes), test split\n"
printf "%-34s %9s %9s %11s %11s\n" system accuracy macro-F1 train-wall-s train-cpu-s
printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "nlpc ngram (svm, word 1-2)" "$(json accuracy <<<"$NLPC")" \
  "$(json f1_macro <<<"$NLPC")" "$(json train_s <<<"$NLPC")" "$(json train_cpu_s <<<"$NLPC")"
if [ -n "$NLPC_C" ]; then
  printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "nlpc ngram (svm, word+char $NLPC_CHAR)" "$(json accuracy <<<"$NLPC_C")" \
    "$(json f1_macro <<<"$NLPC_C")" "$(json train_s <<<"$NLPC_C")" "$(json train_cpu_s <<<"$NLPC_C")"
fi
printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "fastText -wordNgrams 2 -epoch 25" "$(json accuracy <<<"$FT")" \
  "$(json f1_macro <<<"$FT")" "$FT_WALL" "$FT_CPU"
printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "sklearn TF-IDF + LinearSVC(C=0.5)" "$(json accuracy <<<"$SK")" \
  "$(json f1_macro <<<"$SK")" "$(json train_s <<<"$SK")" "$(json cpu_s <<<"$SK")"
$PY - "$NLPC" "$FT_WALL" "$FT_CPU" <<'PY'
import json, sys
n = json.loads(sys.argv[1])
print(f"nlpc/fastText training time: wall {n['train_s'] / float(sys.argv[2]):.2f}x, cpu {n['train_cpu_s'] / float(sys.argv[3]):.2f}x")
PY

# --- tags (multi-label) ---
if [ "${SKIP_TAGS:-0}" != 1 ]; then
  NT=$("$BUILD"/bench_ngram_baseline --data "$DATA" --text-column "$COLS" --task tags --char 0 --threads "$THREADS" --valid 2>/dev/null | tail -n 1)
  ST=$($PY $REF sklearn-tags "$DATA" "$COLS" "$THREADS")
  printf "\ntags (multi-label, tagged rows only), test split\n"
  printf "%-34s %9s %9s %11s %11s\n" system micro-F1 macro-F1 train-wall-s train-cpu-s
  printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "nlpc ngram (svm OvR, word1-2)" "$(json f1_micro <<<"$NT")" \
    "$(json f1_macro <<<"$NT")" "$(json train_s <<<"$NT")" "$(json train_cpu_s <<<"$NT")"
  printf "%-34s %9.4f %9.4f %11.1f %11.1f\n" "sklearn OvR LinearSVC(C=0.5)" "$(json f1_micro <<<"$ST")" \
    "$(json f1_macro <<<"$ST")" "$(json train_s <<<"$ST")" "$(json cpu_s <<<"$ST")"
  echo "nlpc tags at threshold 0.5 (no tuning): micro-F1 $(json f1_micro_at_0.5 <<<"$NT")"
fi
echo
echo "raw: nlpc=$NLPC"
