#!/usr/bin/env bash
# Int8 inference speed (issue 17): nlpc fp32, nlpc int8 (`--precision int8`), PyTorch eager fp32 and
# PyTorch eager int8 (quantize_dynamic, onednn engine, per-channel qint8 weights; scripts/ref/bert_ref.py
# --precision int8) on the same BERT-shaped encoders (random init) and the same inputs, alternating
# in every round; best median of ROUNDS rounds each. Then T5 greedy generation and Whisper encoder /
# decoder speed, nlpc fp32 vs int8 (and PyTorch eager fp32 vs int8 where the reference supports
# NLPC_BENCH_PRECISION), alternating.
#   scripts/bench/int8.sh [THREADS=2] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${1:-2}
ROUNDS=${2:-3}
PY=/usr/bin/python3
BUILD=${BUILD:-build}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
ninja -C "$BUILD" bench_encoder bench_t5_generate bench_whisper_rtf >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$PY scripts/bench/encoder_util.py prepare "$TMP/cases" ../shared/datasets/debian-packages-en/test.csv >/dev/null
cat > "$TMP/bert-base.json" <<JSON
{"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
 "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
 "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
JSON
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $THREADS threads; $("$BUILD"/nlpc --version | grep int8)"
echo
echo "| model, input 32 x 128 | nlpc fp32 s | nlpc int8 s | nlpc int8 speed-up | PyTorch fp32 s | PyTorch int8 s | PyTorch int8 speed-up | nlpc int8 vs PyTorch int8 |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "bert-base:$TMP/bert-base.json:1:3" "bert-mini:configs/models/bert-mini.json:2:10"; do
  IFS=: read -r name cfg warm iters <<<"$spec"
  log="$TMP/$name.log"
  : >"$log"
  for ((r = 0; r < ROUNDS; r++)); do
    for p in fp32 int8; do
      echo "nlpc $p $("$BUILD"/bench_encoder --config "$cfg" --threads "$THREADS" --warmup "$warm" --iters "$iters" \
        --precision "$p" "$TMP/cases/fixed.safetensors")" >>"$log"
      echo "py $p $($PY scripts/ref/bert_ref.py bench --config "$(cat "$cfg")" --threads "$THREADS" --warmup "$warm" \
        --iters "$iters" --precision "$p" "$TMP/cases/fixed.safetensors" 2>/dev/null)" >>"$log"
    done
  done
  $PY - "$log" "$name" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    impl, prec, doc = line.split(" ", 2)
    d = json.loads(doc)
    t = list(d.get("cases", d).values())[0]
    best[(impl, prec)] = min(best.get((impl, prec), 1e9), t)
nf, ni, pf, pi = best[("nlpc", "fp32")], best[("nlpc", "int8")], best[("py", "fp32")], best[("py", "int8")]
print(f"| {sys.argv[2]} | {nf:.3f} | {ni:.3f} | {nf / ni:.2f}x | {pf:.3f} | {pi:.3f} | {pf / pi:.2f}x | {pi / ni:.2f}x faster |")
PY
done

echo
echo "T5 (t5-small shape, random init), greedy, 32 new tokens, source length 64, cache on, best of 3:"
echo "| batch | nlpc fp32 tok/s | nlpc int8 tok/s | speed-up | PyTorch fp32 tok/s | PyTorch int8 tok/s |"
echo "|---|---|---|---|---|---|"
field() { $PY -c "import json,sys; print('%.1f' % json.load(sys.stdin)['$1'])"; }
for batch in 1 16; do
  nf=$(NLPC_BENCH_PRECISION=fp32 "$BUILD"/bench_t5_generate "$batch" 32 64 1 3 "$THREADS" | field tokens_per_s)
  ni=$(NLPC_BENCH_PRECISION=int8 "$BUILD"/bench_t5_generate "$batch" 32 64 1 3 "$THREADS" | field tokens_per_s)
  pf=$(NLPC_BENCH_PRECISION=fp32 $PY scripts/ref/t5_ref.py bench "$batch" 32 64 1 3 "$THREADS" 2>/dev/null | field tokens_per_s)
  pi=$(NLPC_BENCH_PRECISION=int8 $PY scripts/ref/t5_ref.py bench "$batch" 32 64 1 3 "$THREADS" 2>/dev/null | field tokens_per_s)
  echo "| $batch | $nf | $ni | $(echo "$ni $nf" | awk '{printf "%.2fx", $1/$2}') | $pf | $pi |"
done

echo
echo "Whisper (whisper-tiny shape, random init; jfk.wav's 11 s in one 30 s window; 100 greedy tokens):"
DIR=${WHISPER_TINY_DIR:-/tmp/nlpc-whisper-tiny-random}
[ -f "$DIR/model.safetensors" ] || $PY scripts/ref/whisper_ref.py tiny "$DIR" >/dev/null
FEATS="$TMP/jfk_features.npy"
$PY -c "import numpy as np; m=np.load('tests/fixtures/audio/jfk_mel.npy'); z=np.zeros((80,3000),np.float32); z[:,:m.shape[1]]=m; np.save('$FEATS', z)"
for p in fp32 int8; do
  NLPC_BENCH_PRECISION=$p "$BUILD"/bench_whisper_rtf "$DIR" "$FEATS" 100 3 "$THREADS"
  NLPC_BENCH_PRECISION=$p $PY scripts/bench/whisper_rtf.py "$DIR" "$FEATS" 100 3 "$THREADS" 2>/dev/null || true
done
