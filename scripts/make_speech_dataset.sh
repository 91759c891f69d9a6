#!/usr/bin/env bash
# Spoken digit strings synthesised with espeak-ng, as 16 kHz mono 16-bit WAV, with CSV manifests
# for `nlpc train` task: asr / `nlpc eval --task asr`.
#
#   scripts/make_speech_dataset.sh [OUT_DIR] [TRAIN_N] [VALID_N] [TEST_N] [SEED]
#   (defaults: data/speech-digits 2400 200 300 1)
#
# Each utterance is 3 to 6 digits as words ("three one four one"), spoken by one voice (an
# espeak-ng accent + a voice variant), at a random speed (140-200 words/min) and pitch (25-75).
# The voices of valid and of test are never used in train (nor in each other):
#   train: accents en-us, en-gb, en-gb-scotland, en-029, en-gb-x-gbclan
#          x variants (default), m1, m2, m3, m5, m7, f1, f3, f5, klatt
#   valid: en-gb-x-gbcwmd+m8, en-us+klatt2, en-gb+f2, en-029+m4
#   test:  en-gb-x-rp+m6, en-us+f4, en-gb-scotland+f2, en-gb-x-gbclan+m4, en-029+klatt3, en-gb+m8
# Outputs OUT_DIR/{train,valid,test}.csv (audio,text,voice,speed,pitch; audio paths relative to
# OUT_DIR) and OUT_DIR/wav/*.wav. Needs espeak-ng and sox (Debian packages, installed here when
# missing, as root or through sudo). Deterministic for a seed.
set -euo pipefail

OUT=${1:-data/speech-digits}
TRAIN_N=${2:-2400}
VALID_N=${3:-200}
TEST_N=${4:-300}
SEED=${5:-1}

need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y "${need[@]}" >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${need[@]}" >/dev/null; }
fi

mkdir -p "$OUT/wav"
JOBS=$(mktemp)
trap 'rm -f "$JOBS"' EXIT

# The utterance list: one line per clip (split, file, voice, speed, pitch, text), and the manifests.
/usr/bin/python3 - "$OUT" "$TRAIN_N" "$VALID_N" "$TEST_N" "$SEED" >"$JOBS" <<'PY'
import csv, random, sys
out, n_train, n_valid, n_test, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
train_voices = [a + ("+" + v if v else "")
                for a in ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-gbclan"]
                for v in ["", "m1", "m2", "m3", "m5", "m7", "f1", "f3", "f5", "klatt"]]
splits = {
    "train": (n_train, train_voices),
    "valid": (n_valid, ["en-gb-x-gbcwmd+m8", "en-us+klatt2", "en-gb+f2", "en-029+m4"]),
    "test": (n_test, ["en-gb-x-rp+m6", "en-us+f4", "en-gb-scotland+f2", "en-gb-x-gbclan+m4", "en-029+klatt3", "en-gb+m8"]),
}
assert not set(splits["test"][1]) & set(train_voices) and not set(splits["valid"][1]) & set(train_voices)
assert not set(splits["test"][1]) & set(splits["valid"][1])
for split, (n, voices) in splits.items():
    with open(f"{out}/{split}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["audio", "text", "voice", "speed", "pitch"])
        for i in range(n):
            text = " ".join(rng.choice(digits) for _ in range(rng.randint(3, 6)))
            voice = voices[i % len(voices)]
            speed, pitch = rng.randint(140, 200), rng.randint(25, 75)
            name = f"wav/{split}-{i:05d}.wav"
            w.writerow([name, text, voice, speed, pitch])
            print("\t".join([name, voice, str(speed), str(pitch), text]))
PY

# Synthesis, two processes at a time: espeak-ng (22,050 Hz) -> sox (16 kHz mono s16), leading and
# trailing silence trimmed; a clip still longer than MAX_SECONDS (the model's 3 s window, less a
# margin) is sped up with sox tempo (pitch kept) to fit, so that every clip fits the window.
export OUT MAX_SECONDS="${MAX_SECONDS:-2.9}"
tr '\t' '\n' <"$JOBS" | xargs -d '\n' -n 5 -P 2 sh -c '
  [ -s "$OUT/$0" ] && exit 0
  espeak-ng -v "$1" -s "$2" -p "$3" --stdout "$4" | sox -q -t wav - -c 1 -b 16 "$OUT/$0.tmp.wav" gain -3 rate 16000 \
    silence 1 0.01 -45d reverse silence 1 0.01 -45d reverse &&
  d=$(soxi -D "$OUT/$0.tmp.wav") &&
  if awk -v d="$d" -v m="$MAX_SECONDS" "BEGIN { exit !(d > m) }"; then
    sox -q "$OUT/$0.tmp.wav" "$OUT/$0.fit.wav" tempo -s "$(awk -v d="$d" -v m="$MAX_SECONDS" "BEGIN { print d / (m - 0.05) }")" &&
    mv "$OUT/$0.fit.wav" "$OUT/$0.tmp.wav"
  fi &&
  mv "$OUT/$0.tmp.wav" "$OUT/$0"'

for s in train valid test; do
  echo "$OUT/$s.csv: $(($(wc -l <"$OUT/$s.csv") - 1)) clips"
done
