#!/usr/bin/env bash
# Encoder inference benchmark: nlpc (libtorch C++) vs the same architecture in Python PyTorch 1.13
# eager (scripts/ref/bert_ref.py), same inputs, same thread count, alternating runs (best median
# of ROUNDS rounds each). Usage: scripts/bench/encoder.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
ROUNDS=${2:-2}
PY=/usr/bin/python3
BUILD=${BUILD:-build}
DATASET=${DATASET:-../shared/datasets/debian-packages-en/test.csv}
ninja -C "$BUILD" bench_encoder >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$PY scripts/bench/encoder_util.py prepare "$TMP/cases" "$DATASET"
cat > "$TMP/bert-base.json" <<JSON
{"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
 "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
 "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
JSON
# BERT-base is slow on small machines: it runs on the fixed batch and the first REAL_BASE real batches.
REAL_BASE=${REAL_BASE:-2}
echo "| model | input | nlpc seq/s | PyTorch eager seq/s | nlpc / eager | nlpc GFLOP/s (% SGEMM) | eager GFLOP/s (% SGEMM) |"
echo "|---|---|---|---|---|---|---|"
for spec in "bert-base:$TMP/bert-base.json:1:2" "bert-mini:configs/models/bert-mini.json:2:7"; do
  IFS=: read -r name cfg warm iters <<<"$spec"
  CASES=("$TMP/cases/fixed.safetensors" "$TMP"/cases/real*.safetensors)
  if [ "$name" = bert-base ]; then CASES=("${CASES[@]:0:$((REAL_BASE + 1))}"); fi
  log="$TMP/$name.log"
  : >"$log"
  for ((r = 0; r < ROUNDS; r++)); do
    echo "PY $($PY scripts/ref/bert_ref.py bench --config "$(cat "$cfg")" --threads "$THREADS" \
      --warmup "$warm" --iters "$iters" "${CASES[@]}")" >>"$log"
    echo "NLPC $("$BUILD"/bench_encoder --config "$cfg" --threads "$THREADS" --warmup "$warm" --iters "$iters" \
      "${CASES[@]}")" >>"$log"
  done
  $PY scripts/bench/encoder_util.py report "$cfg" "$name" "$TMP/cases" "$log"
done
