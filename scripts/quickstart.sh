#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the shipped data/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${NLPC_BUILD_DIR:-build}"
"$BUILD_DIR/nlpc" --version
