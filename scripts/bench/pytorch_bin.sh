#!/usr/bin/env bash
# Reading a BERT-base-sized checkpoint (110M fp32 parameters, ~440 MB): pytorch_model.bin (zip and
# legacy format, written by Debian's python3-torch) against the same weights as model.safetensors
# (written by `nlpc models convert`), each load in a fresh process, alternating, ROUNDS rounds
# (default 5). Files are read once before timing so that all come from the page cache. Also prints
# Python's torch.load of the zip file for context. Ratio: median .bin / median safetensors.
#   usage: scripts/bench/pytorch_bin.sh [ROUNDS]   (env BUILD=build dir, TMPDIR=where files go)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${1:-5}
DIR=${TMPDIR:-/tmp}/nlpc-bench-bin-$$
PY=/usr/bin/python3
mkdir -p "$DIR"/zip "$DIR"/legacy
trap 'rm -rf "$DIR"' EXIT
ninja -C "$BUILD" bench_load_checkpoint nlpc >/dev/null

"$PY" - "$DIR" <<'PYEOF'
import collections, json, sys, torch
d = sys.argv[1]
torch.manual_seed(0)
h, inter, layers, vocab = 768, 3072, 12, 30522
sd = collections.OrderedDict()
def add(name, *shape):
    sd[name] = torch.randn(*shape) * 0.02
add("bert.embeddings.word_embeddings.weight", vocab, h)
add("bert.embeddings.position_embeddings.weight", 512, h)
add("bert.embeddings.token_type_embeddings.weight", 2, h)
add("bert.embeddings.LayerNorm.weight", h); add("bert.embeddings.LayerNorm.bias", h)
for i in range(layers):
    p = "bert.encoder.layer.%d." % i
    for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        add(p + n + ".weight", h, h); add(p + n + ".bias", h)
    add(p + "attention.output.LayerNorm.weight", h); add(p + "attention.output.LayerNorm.bias", h)
    add(p + "intermediate.dense.weight", inter, h); add(p + "intermediate.dense.bias", inter)
    add(p + "output.dense.weight", h, inter); add(p + "output.dense.bias", h)
    add(p + "output.LayerNorm.weight", h); add(p + "output.LayerNorm.bias", h)
add("bert.pooler.dense.weight", h, h); add("bert.pooler.dense.bias", h)
add("classifier.weight", 2, h); add("classifier.bias", 2)
cfg = {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": vocab,
       "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": 12, "intermediate_size": inter,
       "id2label": {"0": "a", "1": "b"}}
for sub, legacy in (("zip", False), ("legacy", True)):
    torch.save(sd, "%s/%s/pytorch_model.bin" % (d, sub), _use_new_zipfile_serialization=not legacy)
    json.dump(cfg, open("%s/%s/config.json" % (d, sub), "w"))
print("params %d" % sum(t.numel() for t in sd.values()))
PYEOF
"$BUILD"/nlpc --log-level warn models convert "$DIR"/zip --to "$DIR"/st >/dev/null
ls -l "$DIR"/zip/pytorch_model.bin "$DIR"/legacy/pytorch_model.bin "$DIR"/st/model.safetensors | awk '{print $5, $9}'
cat "$DIR"/zip/pytorch_model.bin "$DIR"/legacy/pytorch_model.bin "$DIR"/st/model.safetensors >/dev/null

declare -A WALL
for r in $(seq 1 "$ROUNDS"); do
  for kind in st zip legacy; do
    f="$DIR/$kind/pytorch_model.bin"; [[ $kind == st ]] && f="$DIR/st/model.safetensors"
    line=$("$BUILD"/bench_load_checkpoint "$f")
    echo "round $r $kind: $line"
    WALL[$kind]+="$(sed -E 's/.*wall_s ([0-9.]+).*/\1/' <<<"$line") "
  done
  "$PY" -c "import time,torch;t=time.time();torch.load('$DIR/zip/pytorch_model.bin');print('round $r python torch.load zip: wall_s %.3f' % (time.time()-t))"
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
st=$(median "${WALL[st]}"); zip=$(median "${WALL[zip]}"); legacy=$(median "${WALL[legacy]}")
echo "median wall s: safetensors $st  bin-zip $zip  bin-legacy $legacy"
awk -v s="$st" -v z="$zip" -v l="$legacy" 'BEGIN {printf "ratio bin-zip/safetensors %.2f  bin-legacy/safetensors %.2f\n", z/s, l/s}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
