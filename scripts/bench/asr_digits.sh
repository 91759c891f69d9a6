#!/usr/bin/env bash
# Tiny Whisper from scratch on spoken digits (espeak-ng), scored on voices not used in training.
#
#   scripts/bench/asr_digits.sh [BUILD_DIR=build] [THREADS=2] [BUDGET_MIN=28] [MAX_STEPS=1200]
#
# 1. scripts/make_speech_dataset.sh data/speech-digits (2,400 train / 200 valid / 300 test clips;
#    valid and test voices are held out from train);
# 2. nlpc train --config configs/asr-digits.json (configs/models/whisper-micro.json: d_model 128,
#    3 + 2 layers, 3 s window; whisper-tiny's tokenizer), valid WER every 100 steps, best kept;
#    the training is stopped with SIGTERM after BUDGET_MIN minutes if MAX_STEPS are not done by then
#    (the best model so far is already saved in the run's artifacts/model);
# 3. the test voices scored with WER/CER and 95 % bootstrap intervals: by the training run itself
#    when it finished its MAX_STEPS (same code as eval), else by nlpc eval --task asr on the best model.
# Prints the wall time of each phase and the test WER. Target: WER <= 0.10 within 30 minutes on 2 cores;
# the defaults fit the whole script (data, training, test scoring) into 30 minutes on the idle 2-vCPU VM.
set -euo pipefail
BUILD=${1:-build}; THREADS=${2:-2}; BUDGET_MIN=${3:-28}; MAX_STEPS=${4:-1200}
NLPC="$BUILD/nlpc"
RUNS=${NLPC_RUNS_DIR:-runs}
[ -x "$NLPC" ] || { echo "build nlpc first ($NLPC missing)" >&2; exit 1; }

t0=$(date +%s)
scripts/make_speech_dataset.sh data/speech-digits
t1=$(date +%s)
echo "data: $((t1 - t0)) s"

set +e
timeout -s TERM "${BUDGET_MIN}m" "$NLPC" --threads "$THREADS" train --runs-dir "$RUNS" --experiment asr-digits \
  --config configs/asr-digits.json --set train.max_steps="$MAX_STEPS" --set eval.bootstrap=1000 | tee /tmp/asr_digits_train.txt
rc=${PIPESTATUS[0]}
set -e
t2=$(date +%s)
echo "train: $((t2 - t1)) s (exit $rc$([ "$rc" = 124 ] || [ "$rc" = 143 ] && echo ": stopped at the budget"))"

MODEL=$(ls -td "$RUNS"/asr-digits/*/artifacts/model | head -1)
[ "$rc" = 0 ] || "$NLPC" --threads "$THREADS" eval --task asr --runs-dir "$RUNS" --experiment asr-digits-eval --model "$MODEL" \
  --data data/speech-digits/test.csv --bootstrap 1000 | tee /tmp/asr_digits_eval.txt
t3=$(date +%s)
echo "eval: $((t3 - t2)) s$([ "$rc" = 0 ] && echo " (test scored by the training run)"); total $((t3 - t0)) s (training budget ${BUDGET_MIN} min, ${THREADS} threads)"
echo "model: $MODEL"
