#!/usr/bin/env bash
# Streamed Transformer training as the training file grows (issue 19): bert-tiny from scratch for a
# fixed number of steps on 10 k, 100 k and 1 M rows (scale_data.py copies of debian-packages-en's
# training set), the file streamed (data.shuffle_buffer) and read into memory, alternately: wall time,
# peak RSS and test accuracy. Then, on the largest file, a streamed run killed mid-stream (SIGTERM
# after KILL_AT logged steps) and resumed: its losses after the resume against the uninterrupted run's.
#   scripts/bench/stream_rss.sh [ROWS] [OUT_DIR]
# ROWS: default "10000 100000 1000000". OUT_DIR (default docs/bench/stream): results.tsv, resume.txt.
# Environment: NLPC_BUILD_DIR (default build), THREADS (default nproc), STEPS (default 300),
# BUFFER (default 10000), KILL_AT (default 150), SKIP_MEMORY=1 (streamed runs only).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES="${1:-10000 100000 1000000}"
OUT="${2:-docs/bench/stream}"
BUILD="${NLPC_BUILD_DIR:-build}"
THREADS="${THREADS:-$(nproc)}"
STEPS="${STEPS:-300}"
BUFFER="${BUFFER:-10000}"
KILL_AT="${KILL_AT:-150}"
DATA=../shared/datasets/debian-packages-en
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ninja -C "$BUILD" nlpc >/dev/null
mkdir -p "$OUT"
RES="$OUT/results.tsv"
printf "rows\tfile_mb\tmode\tsteps\taccuracy\twall_s\tpeak_rss_mb\n" > "$RES"
echo "threads: $THREADS  host: $(hostname)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $(date -u +%FT%TZ)"
base_rows=$(/usr/bin/python3 -c "import csv,sys; csv.field_size_limit(sys.maxsize); print(sum(1 for _ in csv.reader(open(sys.argv[1]))) - 1)" "$DATA/train.csv")

args() {  # buffer runs_dir
  echo "--threads $THREADS train --runs-dir $2 --set data.train=$WORK/train.csv --set data.test=$WORK/test.csv \
 --set data.text_column=summary,text --set data.label_column=section --set model.type=bert \
 --set model.config=configs/models/bert-tiny.json --set model.tokenizer=configs/tokenizers/bert-base-uncased \
 --set model.max_length=64 --set train.batch_size=32 --set train.epochs=1 --set train.max_steps=$STEPS \
 --set train.lr=1e-3 --set train.seed=42 --set train.log_every=10 --set data.shuffle_buffer=$1 --set eval.bootstrap=0"
}

run_one() {  # rows mb mode buffer
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$BUILD/nlpc" $(args "$4" "$WORK/runs") > "$WORK/out" 2> "$WORK/err" ||
    { tail -5 "$WORK/err"; exit 1; }
  local acc wall rss
  acc=$(awk '$1 == "accuracy" {print $2}' "$WORK/out")
  read -r wall rss < "$WORK/time"
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%d\n" "$1" "$2" "$3" "$STEPS" "$acc" "$wall" $((rss / 1024)) | tee -a "$RES"
  rm -rf "$WORK/runs"
}

i=0
for n in $SIZES; do
  factor=$(/usr/bin/python3 -c "print($n / $base_rows)")
  /usr/bin/python3 scripts/bench/scale_data.py "$DATA/train.csv" "$WORK/train.csv" "$factor" > /dev/null
  mb=$(( $(stat -c %s "$WORK/train.csv") / 1000000 ))
  # The test rows whose section the training rows have (small prefixes miss rare sections).
  /usr/bin/python3 -c 'import csv,sys
csv.field_size_limit(sys.maxsize)
known = {r["section"] for r in csv.DictReader(open(sys.argv[1]))}
rows = csv.DictReader(open(sys.argv[2]))
w = csv.DictWriter(open(sys.argv[3], "w", newline=""), rows.fieldnames)
w.writeheader()
w.writerows(r for r in rows if r["section"] in known)' "$WORK/train.csv" "$DATA/test.csv" "$WORK/test.csv"
  if [ "${SKIP_MEMORY:-0}" = 1 ]; then
    run_one "$n" "$mb" streamed "$BUFFER"
  elif [ $((i % 2)) = 0 ]; then
    run_one "$n" "$mb" streamed "$BUFFER"; run_one "$n" "$mb" memory 0
  else
    run_one "$n" "$mb" memory 0; run_one "$n" "$mb" streamed "$BUFFER"
  fi
  i=$((i + 1))
done

# Kill mid-stream and resume, on the last (largest) file.
# "step loss" lines of a runs folder's one run (the first value logged for a step: a resumed run
# logs again the steps after its last checkpoint).
losses() {
  /usr/bin/python3 -c 'import json,sys,glob
seen = {}
for l in open(glob.glob(sys.argv[1] + "/default/*/metrics.jsonl")[0]):
    m = json.loads(l)
    if m["key"] == "train/loss": seen.setdefault(m["step"], m["value"])
for s in sorted(seen): print(s, repr(seen[s]))' "$1"
}
"$BUILD/nlpc" $(args "$BUFFER" "$WORK/full") > /dev/null 2>&1
"$BUILD/nlpc" $(args "$BUFFER" "$WORK/cut") > /dev/null 2> "$WORK/cut.err" &
pid=$!
while [ "$(cat "$WORK"/cut/default/*/metrics.jsonl 2>/dev/null | grep -c '"train/loss"')" -lt $((KILL_AT / 10)) ]; do sleep 0.5; done
kill -TERM "$pid"; wait "$pid" || true
run=$(basename "$(ls -d "$WORK"/cut/default/*/)")
"$BUILD/nlpc" --threads "$THREADS" train --runs-dir "$WORK/cut" --resume "$run" > /dev/null 2> "$WORK/resume.err"
{
  echo "rows: $n, shuffle buffer $BUFFER, killed after $KILL_AT+ steps of $STEPS"
  grep -o "resuming from .*" "$WORK/resume.err"
  echo "step  uninterrupted_loss  resumed_loss"
  awk 'NR == FNR {ref[$1] = $2; next} {d = $2 - ref[$1]; if (d < 0) d = -d; if (d > max) max = d;
       print $1, ref[$1], $2} END {print "max |difference|:", max + 0}' <(losses "$WORK/full") <(losses "$WORK/cut")
  echo "test accuracy: uninterrupted $(grep -h '"test/accuracy"' "$WORK"/full/default/*/metrics.jsonl | sed 's/.*"value":\([0-9.e-]*\).*/\1/'), \
resumed $(grep -h '"test/accuracy"' "$WORK"/cut/default/*/metrics.jsonl | sed 's/.*"value":\([0-9.e-]*\).*/\1/')"
} | tee "$OUT/resume.txt"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $RES and $OUT/resume.txt"
