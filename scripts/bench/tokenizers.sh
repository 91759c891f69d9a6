#!/usr/bin/env bash
# Tokenizer throughput per family (MB/s, tokens/s), 1 thread and all threads, next to Debian's
# spm_encode (libsentencepiece's own encoder) on the same text and the same .model, in the same run.
#   scripts/bench/tokenizers.sh [CSV] [MAX_MB]
# CSV defaults to ../shared/datasets/debian-packages-en/train.csv (text column).
set -euo pipefail
cd "$(dirname "$0")/../.."
CSV="${1:-../shared/datasets/debian-packages-en/train.csv}"
MAX_MB="${2:-0}"
BUILD="${NLPC_BUILD_DIR:-build}"
ninja -C "$BUILD" bench_tokenizers nlpc >/dev/null
B="$BUILD/bench_tokenizers"
F=tests/fixtures/text
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$B" --csv "$CSV" --column text --dump "$TMP/corpus.txt"
if [ "$MAX_MB" != "0" ]; then head -c "$((MAX_MB * 1000000))" "$TMP/corpus.txt" | sed '$d' > "$TMP/c2.txt"; mv "$TMP/c2.txt" "$TMP/corpus.txt"; fi
MB=$(stat -c %s "$TMP/corpus.txt")
N=$(nproc)
echo "corpus: $(wc -l < "$TMP/corpus.txt") lines, $(awk "BEGIN{printf \"%.1f\", $MB/1e6}") MB; threads: 1 and $N"
for tok in bert-base-uncased whisper-tiny t5-small spm-unigram/spm.model spm-bpe/spm.model; do
  echo "== $tok"
  "$B" --text "$TMP/corpus.txt" --tokenizer "$F/$tok" --threads 1
  "$B" --text "$TMP/corpus.txt" --tokenizer "$F/$tok" --threads "$N"
done
echo "== reference: spm_encode (libsentencepiece, single process) on the same text"
for m in spm-unigram spm-bpe; do
  s=$(date +%s.%N)
  spm_encode --model="$F/$m/spm.model" --output_format=id < "$TMP/corpus.txt" > "$TMP/spm_ids.txt"
  e=$(date +%s.%N)
  toks=$(wc -w < "$TMP/spm_ids.txt")
  awk -v s="$s" -v e="$e" -v mb="$MB" -v t="$toks" -v m="$m" \
    'BEGIN{d=e-s; printf "spm_encode %-12s %7.1f MB  %7.3f s  %8.2f MB/s  %10.0f tokens/s  (%d tokens)\n", m, mb/1e6, d, mb/1e6/d, t/d, t}'
  "$BUILD/nlpc" -q tokenize --tokenizer "$F/$m/spm.model" --no-special-tokens --input "$TMP/corpus.txt" > "$TMP/nlpc_ids.txt"
  total=$(wc -l < "$TMP/spm_ids.txt")
  differ=$(diff "$TMP/spm_ids.txt" "$TMP/nlpc_ids.txt" | grep -c '^<' || true)
  echo "  ids identical to spm_encode on $((total - differ)) of $total lines"
done
