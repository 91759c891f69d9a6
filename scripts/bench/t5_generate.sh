#!/usr/bin/env bash
# T5 generation speed: nlpc (libtorch) next to the plain-PyTorch eager reference (scripts/ref/t5_ref.py,
# with its own key/value cache), same t5-small shape, same greedy decoding (eos disabled, exactly
# NEW_TOKENS per row), same thread count, in one run. Reports new tokens per second of wall time and
# per second of process CPU time (steadier on a shared machine), best of REPEATS.
#   scripts/bench/t5_generate.sh [BUILD_DIR] [THREADS] [NEW_TOKENS] [SRC_LEN] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${2:-1}
NEW=${3:-32}
SRC=${4:-64}
REPS=${5:-3}
ninja -C "$BUILD" bench_t5_generate >/dev/null
# OpenBLAS keeps its own thread pool, which torch.set_num_threads does not size: pin it for both sides
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
PY=/usr/bin/python3
field() { $PY -c "import json,sys; print('%.1f' % json.load(sys.stdin)['$1'])"; }
echo "t5-small shape (random init), greedy, $NEW new tokens, source length $SRC, $THREADS thread(s), best of $REPS"
echo "libtorch $($PY -c 'import torch; print(torch.__version__)') (python) / nlpc linked against the same Debian libtorch"
printf "%-6s %-6s | %12s %12s %7s | %12s %12s %7s\n" batch cache "nlpc tok/s" "py tok/s" ratio \
  "nlpc tok/cpu-s" "py tok/cpu-s" ratio
for batch in 1 16; do
  for cache in 1 0; do
    n=$("$BUILD/bench_t5_generate" "$batch" "$NEW" "$SRC" "$cache" "$REPS" "$THREADS")
    p=$($PY scripts/ref/t5_ref.py bench "$batch" "$NEW" "$SRC" "$cache" "$REPS" "$THREADS")
    nw=$(echo "$n" | field tokens_per_s); pw=$(echo "$p" | field tokens_per_s)
    nc=$(echo "$n" | field tokens_per_cpu_s); pc=$(echo "$p" | field tokens_per_cpu_s)
    printf "%-6s %-6s | %12s %12s %6.2fx | %12s %12s %6.2fx\n" "$batch" \
      "$([ "$cache" = 1 ] && echo yes || echo no)" "$nw" "$pw" "$(echo "$nw $pw" | awk '{print $1/$2}')" \
      "$nc" "$pc" "$(echo "$nc $pc" | awk '{print $1/$2}')"
  done
done
