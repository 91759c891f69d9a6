#!/usr/bin/env bash
# Streams generated CSVs of N rows through `nlpc predict` and reports rows/s and peak RSS, to show
# that memory does not grow with the number of rows.
#   scripts/bench/predict_rows.sh MODEL_DIR [ROWS...]      (default rows: 100000 1000000)
# Rows cycle through data/debian-sections/train.csv (columns id,text; quoted multi-line texts).
# TEXT_WORDS=N keeps only the first N words of each text (short rows, e.g. for transformer models,
# whose cost grows with the text length; the n-gram baseline is measured on whole texts).
# NLPC_ARGS: global nlpc options (e.g. "--threads 1"); PREDICT_ARGS: extra `predict` options.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="$1"; shift
ROWS=("${@:-100000 1000000}")
[ $# -eq 0 ] && ROWS=(100000 1000000)
NLPC="${NLPC_BIN:-build/nlpc}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for n in "${ROWS[@]}"; do
  /usr/bin/python3 - "$n" "$TMP/in.csv" "${TEXT_WORDS:-0}" <<'PY'
import csv, sys
n, out, words = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
texts = [r["text"] for r in csv.DictReader(open("data/debian-sections/train.csv", encoding="utf-8"))]
if words > 0:
    texts = [" ".join(t.split()[:words]) for t in texts]
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "text"])
    for i in range(n):
        w.writerow([i, texts[i % len(texts)]])
PY
  size=$(du -m "$TMP/in.csv" | cut -f1)
  /usr/bin/time -v "$NLPC" -q ${NLPC_ARGS:-} predict -m "$MODEL" -i "$TMP/in.csv" -o "$TMP/out.csv" ${PREDICT_ARGS:-} 2> "$TMP/time.txt" || { cat "$TMP/time.txt"; exit 1; }
  wall=$(grep "Elapsed (wall" "$TMP/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident" "$TMP/time.txt" | awk '{print $NF}')
  rows_out=$(( $(wc -l < "$TMP/out.csv") ))
  secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  echo "rows=$n input=${size}MB wall=${wall} rows_per_s=$(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') peak_rss=$((rss/1024))MB output_lines=$rows_out"
  rm -f "$TMP/in.csv" "$TMP/out.csv"
done
