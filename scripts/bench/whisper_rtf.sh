#!/bin/sh
# Whisper real-time factor on jfk.wav: nlpc (libtorch) vs Python PyTorch eager, same whisper-tiny-shaped
# random-initialised weights, same features, same greedy loop with K/V caches, same thread count.
# Usage: scripts/bench/whisper_rtf.sh [BUILD_DIR=build] [THREADS=2] [TOKENS=100] [REPEATS=3]
set -eu
BUILD=${1:-build}; THREADS=${2:-2}; TOKENS=${3:-100}; REPEATS=${4:-3}
DIR=${WHISPER_TINY_DIR:-/tmp/nlpc-whisper-tiny-random}
[ -f "$DIR/model.safetensors" ] || /usr/bin/python3 scripts/ref/whisper_ref.py tiny "$DIR"
FEATS="$DIR/jfk_features.npy"
/usr/bin/python3 -c "import numpy as np; m=np.load('tests/fixtures/audio/jfk_mel.npy'); z=np.zeros((80,3000),np.float32); z[:,:m.shape[1]]=m; np.save('$FEATS', z)"
"$BUILD/bench_whisper_rtf" "$DIR" "$FEATS" "$TOKENS" "$REPEATS" "$THREADS" | tee /tmp/whisper_rtf_nlpc.txt
/usr/bin/python3 scripts/bench/whisper_rtf.py "$DIR" "$FEATS" "$TOKENS" "$REPEATS" "$THREADS" | tee /tmp/whisper_rtf_py.txt
/usr/bin/python3 - <<PY
import re
n = open('/tmp/whisper_rtf_nlpc.txt').read(); p = open('/tmp/whisper_rtf_py.txt').read()
f = lambda s, k: float(re.search(k + r' ([0-9.]+)', s).group(1))
print(f"encoder speed-up {f(p, 'encoder') / f(n, 'encoder'):.2f}x, decoder speed-up {f(n, 'decoder') / f(p, 'decoder'):.2f}x")
print(f"RTF nlpc (1 window of jfk's 11 s + {$TOKENS} tokens): {(f(n, 'encoder') / 1000 + $TOKENS / f(n, 'decoder')) / 11.0:.3f}")
PY
