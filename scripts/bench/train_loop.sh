#!/bin/sh
# Trainer overhead and a Python eager reference on a bert-mini-sized encoder (see bench/train_loop.cpp).
# Usage: scripts/bench/train_loop.sh [BATCH=32] [SEQ=128] [STEPS=20] [THREADS=2]
set -e
cd "$(dirname "$0")/../.."
B=${1:-32}; S=${2:-128}; N=${3:-20}; T=${4:-2}
ninja -C build bench_train_loop >/dev/null
build/bench_train_loop "$B" "$S" "$N" "$T"
/usr/bin/python3 scripts/bench/train_loop_ref.py "$B" "$S" "$N" "$T"
