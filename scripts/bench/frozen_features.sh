#!/usr/bin/env bash
# Frozen encoder + MLP head (configs/features-mlp.json) with and without the feature cache
# (model.cache_features), same seed, measured alternately in one run (issue 19, part 3).
#   scripts/bench/frozen_features.sh MODEL_DIR [ROUNDS] [EXTRA --set ARGS...]
# MODEL_DIR: a BERT-family folder (model.init), e.g. a bert-mini trained by configs/scratch-bert-mini.json.
# Prints per run: cache on/off, train seconds (the run's train/seconds), test accuracy and its
# bootstrap 95% CI; then the speed-up. Environment: NLPC_BUILD_DIR (default build), THREADS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="$1"; shift
ROUNDS="${1:-1}"; [ $# -gt 0 ] && shift
BUILD="${NLPC_BUILD_DIR:-build}"
THREADS="${THREADS:-$(nproc)}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ninja -C "$BUILD" nlpc >/dev/null
echo "model: $MODEL  threads: $THREADS  host: $(hostname)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $(date -u +%FT%TZ)"
run() {  # cache(true|false) [extra args]
  local cache="$1"; shift
  "$BUILD/nlpc" --threads "$THREADS" train --config configs/features-mlp.json --runs-dir "$WORK/runs" \
    --set model.init="$MODEL" --set model.cache_features="$cache" "$@" > "$WORK/out" 2> "$WORK/err" || {
    cat "$WORK/err" >&2; exit 1; }
  local id; id=$(awk '/^run / {print $2; exit}' "$WORK/out")
  local secs; secs=$(/usr/bin/python3 -c "
import glob, json, sys
d = glob.glob(sys.argv[1] + '/*/' + sys.argv[2])[0]
v = [json.loads(l) for l in open(d + '/metrics.jsonl')]
print(round([m['value'] for m in v if m['key'] == 'train/seconds'][-1], 1))" "$WORK/runs" "$id")
  echo "cache=$cache  train_s=$secs  $(grep -E '^accuracy ' "$WORK/out" | tr -s ' ')"
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then run false "$@"; run true "$@"; else run true "$@"; run false "$@"; fi
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
