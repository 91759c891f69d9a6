#!/usr/bin/env bash
# The n-gram baseline as the training set grows (issue 19): nlpc and fastText on 1x, 3x, ... copies
# of debian-packages-en's training set (scale_data.py: near-duplicates with small word changes),
# measured alternately in one run: test accuracy, wall time and peak RSS of training.
#   scripts/bench/ngram_scale.sh [FACTORS] [OUT_DIR]
# FACTORS: default "1 3 10 30 100". OUT_DIR (default docs/bench/ngram-scale): results.tsv and the
# charts time.svg / rss.svg (drawn by the run report's SVG code). Generated data lives in a
# temporary folder and is deleted after each size. Needs Debian fasttext.
# Environment: NLPC_BUILD_DIR (default build), THREADS (default nproc), SKIP_FASTTEXT=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
FACTORS="${1:-1 3 10 30 100}"
OUT="${2:-docs/bench/ngram-scale}"
BUILD="${NLPC_BUILD_DIR:-build}"
THREADS="${THREADS:-$(nproc)}"
DATA=../shared/datasets/debian-packages-en
PY=/usr/bin/python3
REF=scripts/bench/baseline_ref.py
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ninja -C "$BUILD" nlpc bench_line_chart >/dev/null
mkdir -p "$OUT"
RES="$OUT/results.tsv"
printf "factor\trows\tsystem\taccuracy\twall_s\tpeak_rss_mb\n" > "$RES"
echo "threads: $THREADS  host: $(hostname)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $(date -u +%FT%TZ)"

run_nlpc() {  # factor rows
  local cfg="$WORK/cfg.json"
  cat > "$cfg" <<JSON
{"task": "classification",
 "data": {"train": "$WORK/d/train.csv", "valid": "$DATA/valid.csv", "test": "$DATA/test.csv",
          "text_column": "summary,text", "label_column": "section"},
 "model": {"type": "ngram", "ngram": {"word_ngram_min": 1, "word_ngram_max": 2, "char_ngram_min": 0,
           "hash_bits": 22, "min_df": 2, "sublinear_tf": true, "use_idf": true, "solver": "svm", "svm_c": 0.5}},
 "train": {"seed": 42}, "eval": {"bootstrap": 0}}
JSON
  /usr/bin/time -f "%e %M" -o "$WORK/nlpc.time" "$BUILD/nlpc" --threads "$THREADS" train --config "$cfg" \
    --runs-dir "$WORK/runs" > "$WORK/nlpc.out" 2> "$WORK/nlpc.err"
  local acc wall rss
  acc=$(awk '$1 == "accuracy" {print $2}' "$WORK/nlpc.out")
  read -r wall rss < "$WORK/nlpc.time"
  printf "%s\t%s\tnlpc\t%s\t%s\t%d\n" "$1" "$2" "$acc" "$wall" $((rss / 1024)) | tee -a "$RES"
  rm -rf "$WORK/runs"
}

run_fasttext() {  # factor rows
  $PY $REF fasttext-data "$WORK/d" summary,text "$WORK/ft" > /dev/null
  /usr/bin/time -f "%e %M" -o "$WORK/ft.time" fasttext supervised -input "$WORK/ft/train.ft" \
    -output "$WORK/ft/model" -wordNgrams 2 -epoch 5 -lr 0.5 -thread "$THREADS" -verbose 0
  fasttext predict "$WORK/ft/model.bin" "$WORK/ft/test.ft" > "$WORK/ft/pred"
  local acc wall rss
  acc=$(cut -d' ' -f1 "$WORK/ft/test.ft" | paste -d' ' - "$WORK/ft/pred" |
    awk '{n++; if ($1 == $2) ok++} END {printf "%.4f", ok / n}')
  read -r wall rss < "$WORK/ft.time"
  printf "%s\t%s\tfastText\t%s\t%s\t%d\n" "$1" "$2" "$acc" "$wall" $((rss / 1024)) | tee -a "$RES"
  rm -rf "$WORK/ft"
}

i=0
for f in $FACTORS; do
  mkdir -p "$WORK/d" "$WORK/ft"
  $PY scripts/bench/scale_data.py "$DATA/train.csv" "$WORK/d/train.csv" "$f" > /dev/null
  ln -sf "$(realpath "$DATA/valid.csv")" "$WORK/d/valid.csv"
  ln -sf "$(realpath "$DATA/test.csv")" "$WORK/d/test.csv"
  rows=$(($(python3 -c "import csv,sys; csv.field_size_limit(sys.maxsize); print(sum(1 for _ in csv.reader(open(sys.argv[1]))))" "$WORK/d/train.csv") - 1))
  # Alternate which system goes first.
  if [ "${SKIP_FASTTEXT:-0}" = 1 ]; then
    run_nlpc "$f" "$rows"
  elif [ $((i % 2)) = 0 ]; then
    run_nlpc "$f" "$rows"; run_fasttext "$f" "$rows"
  else
    run_fasttext "$f" "$rows"; run_nlpc "$f" "$rows"
  fi
  rm -rf "$WORK/d"
  i=$((i + 1))
done
awk -F'\t' 'NR > 1 {printf "%s\t%s\t%s\n", $3, $2 / 1000, $5}' "$RES" |
  "$BUILD/bench_line_chart" "n-gram training time vs rows (debian-packages-en copies)" "thousand rows" "wall seconds" "$OUT/time.svg"
awk -F'\t' 'NR > 1 {printf "%s\t%s\t%s\n", $3, $2 / 1000, $6}' "$RES" |
  "$BUILD/bench_line_chart" "n-gram training peak RSS vs rows" "thousand rows" "peak RSS, MB" "$OUT/rss.svg"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $RES, $OUT/time.svg, $OUT/rss.svg"
