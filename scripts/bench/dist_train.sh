#!/usr/bin/env bash
# Distributed training on one machine: samples/s of 1 process x T threads against W ranks x T/W
# threads (env:// on loopback), alternating, and the gradient allreduce cost per update that rank 0
# logs. bert-mini from scratch (configs/scratch-bert-mini.json) for a fixed number of updates, no
# validation. "dist" reduces gradient buckets while backward runs (25 MB buckets, the default);
# "dist-late" uses one 4 GB bucket after a 1 MB first one, so nearly all of the reduction waits for
# the end of backward (what nlpc did before the overlap).
#   scripts/bench/dist_train.sh [rounds=2] [steps=30] [world=2] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}; STEPS=${2:-30}; WORLD=${3:-2}; THREADS=${4:-2}
NLPC=${NLPC:-build/nlpc}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
ARGS=(train --config configs/scratch-bert-mini.json --set data.valid= --set data.test= --set train.max_steps="$STEPS"
      --set train.epochs=1 --set train.patience=0 --set eval.bootstrap=0)
sps() { /usr/bin/python3 - "$1" <<'PY'
import json, sys, glob
for f in glob.glob(sys.argv[1] + "/default/*/metrics.jsonl"):
    for line in open(f):
        m = json.loads(line)
        if m["key"] == "train/samples_per_s": print(m["value"])
PY
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for side in single dist dist-late; do
    rm -rf "$TMP/runs"
    if [ $side = single ]; then
      "$NLPC" --threads "$THREADS" "${ARGS[@]}" --runs-dir "$TMP/runs" >/dev/null 2>"$TMP/err0"
    else
      port=$((29600 + 2 * r)); bucket=25
      if [ $side = dist-late ]; then port=$((port + 1)); bucket=4096; fi
      for ((k = 0; k < WORLD; k++)); do
        RANK=$k WORLD_SIZE=$WORLD LOCAL_RANK=$k LOCAL_WORLD_SIZE=$WORLD MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
          "$NLPC" --threads $((THREADS / WORLD)) "${ARGS[@]}" --set train.dist_bucket_mb=$bucket \
          --runs-dir "$TMP/runs" >/dev/null 2>"$TMP/err$k" &
      done
      wait
    fi
    comm=$(grep -o "gradient allreduce: .*" "$TMP/err0" || true)
    echo "round $r $side: $(sps "$TMP/runs") samples/s ${comm:+($comm)}"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
