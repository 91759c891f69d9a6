#!/usr/bin/env bash
# Installs the Debian packages nlpc needs (only those missing) and builds in Release.
#   scripts/setup.sh             builds everything: nlpc and the test suite (what scripts/test.sh needs)
#   scripts/setup.sh nlpc        builds only the nlpc binary (what scripts/quickstart.sh needs)
# Benchmark programs (bench_*) are not part of either; scripts/bench/*.sh build the ones they run.
# Safe to run repeatedly: installed packages and an up-to-date build are skipped.
#   NLPC_BUILD_DIR   build folder (default: build)
#   NLPC_JOBS        parallel compile jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libtorch-dev libopenblas0-pthread
  sentencepiece libutf8proc-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev catch2
  libsndfile1-dev libsoxr-dev libcpp-httplib-dev zlib1g-dev
  libgloo-dev openmpi-bin libdnnl-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages already installed"
fi

BUILD_DIR="${NLPC_BUILD_DIR:-build}"
JOBS="${NLPC_JOBS:-$(nproc)}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
TARGETS=()
for t in "$@"; do TARGETS+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" "${TARGETS[@]}"
echo "setup: built ${*:-everything} in $BUILD_DIR"
