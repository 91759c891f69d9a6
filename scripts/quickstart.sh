#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the shipped data/: trains the n-gram
# baseline on data/debian-sections (Debian package descriptions -> section, 58 classes) and prints
# its test metrics with 95% bootstrap confidence intervals. The run is recorded under runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh nlpc
BUILD_DIR="${NLPC_BUILD_DIR:-build}"
"$BUILD_DIR/nlpc" --version
"$BUILD_DIR/nlpc" train --config configs/quickstart.json "$@"
echo
echo "Next: $BUILD_DIR/nlpc runs list    |    $BUILD_DIR/nlpc runs report -o report.html"
