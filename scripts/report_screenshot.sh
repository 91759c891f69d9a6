#!/usr/bin/env bash
# Renders `nlpc runs report` for a three-run comparison on data/ and checks it in headless Chromium:
# saves a screenshot (docs/report.png by default) and fails when the browser logs a console error or
# a failed resource load (the report must be self-contained: no scripts, no network).
#   scripts/report_screenshot.sh [OUTPUT.png]
# Needs build/nlpc (scripts/setup.sh) and Debian's chromium (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-docs/report.png}"
NLPC="${NLPC_BIN:-build/nlpc}"
if ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
RUNS="$WORK/runs"
common=(--runs-dir "$RUNS" --experiment compare --config configs/quickstart.json --set eval.bootstrap=1000 --set eval.errors=0)
"$NLPC" -q train "${common[@]}" --run-name svm-words                                     >/dev/null
"$NLPC" -q train "${common[@]}" --run-name svm-words-chars --set model.ngram.char_ngram_min=2 >/dev/null
"$NLPC" -q train "${common[@]}" --run-name sgd-words --set model.ngram.solver=sgd --set train.epochs=8 >/dev/null
"$NLPC" runs report --runs-dir "$RUNS" --experiment compare --title "nlpc: three n-gram runs on data/debian-sections" \
  -o "$WORK/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
  --disable-component-update --disable-sync --user-data-dir="$WORK/profile" --enable-logging=stderr --v=0 \
  --hide-scrollbars --window-size=1400,4200 --screenshot="$WORK/report.png" "file://$WORK/report.html" \
  2> "$WORK/chromium.log" || { cat "$WORK/chromium.log"; exit 1; }
if grep -E "CONSOLE|Failed to load resource|Uncaught|net::ERR_" "$WORK/chromium.log"; then
  echo "report_screenshot: the browser reported errors (above)" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.png" "$OUT"
echo "report_screenshot: no console errors; screenshot in $OUT"
