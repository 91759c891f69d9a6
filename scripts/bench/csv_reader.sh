#!/usr/bin/env bash
# Streams generated CSV files (100 MB and SIZE_MB, default 1100 MB) through nlpc's CsvReader and
# LineReader and, on the same files in the same run, through `wc -l` and Python's csv module
# (Debian's /usr/bin/python3, decoding UTF-8 as nlpc validates it). Prints throughput (wall clock
# and CPU time: the machine may be shared, CPU time is the steadier number) and peak RSS (VmHWM),
# which must not grow with the file size. The generated files are deleted at the end.
#   usage: scripts/bench/csv_reader.sh [SIZE_MB]   (env BUILD=build dir, TMPDIR=where files go)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIG_MB=${1:-1100}
DIR=${TMPDIR:-/tmp}/nlpc-bench-csv-$$
PY=/usr/bin/python3
mkdir -p "$DIR"
trap 'rm -rf "$DIR"' EXIT

if [[ ! -x $BUILD/bench_csv_reader ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD" bench_csv_reader >/dev/null
BENCH=$BUILD/bench_csv_reader

py_csv() {
  "$PY" - "$1" <<'PYEOF'
import csv, os, resource, sys, time
t0, c0 = time.time(), time.process_time()
n = chars = 0
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    col = next(r).index("text")
    for row in r:
        n += 1
        chars += len(row[col])
wall, cpu = time.time() - t0, time.process_time() - c0
mb = os.path.getsize(sys.argv[1]) / 1e6
print(f"python3 csv.reader: records {n}  MB {mb:.1f}  wall_s {wall:.2f}  cpu_s {cpu:.2f}  "
      f"MB/s(wall) {mb / wall:.1f}  MB/s(cpu) {mb / cpu:.1f}  "
      f"peak_rss_MB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f}")
PYEOF
}

wc_l() {
  local out
  out=$( { TIMEFORMAT='%R %U %S'; time wc -l "$1" >/dev/null; } 2>&1 )
  read -r real user sys <<<"$out"
  local mb
  mb=$(stat -c %s "$1")
  awk -v b="$mb" -v r="$real" -v u="$user" -v s="$sys" 'BEGIN {
    c = u + s; if (c < 0.001) c = 0.001;
    printf "wc -l: MB %.1f  wall_s %.2f  cpu_s %.2f  MB/s(wall) %.1f  MB/s(cpu) %.1f\n", b / 1e6, r, c, b / 1e6 / r, b / 1e6 / c }'
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mb in 100 "$BIG_MB"; do
  f=$DIR/data_${mb}.csv
  "$BENCH" generate "$f" "$mb"
  echo "== $(du -h "$f" | cut -f1) file ($(stat -c %s "$f") bytes)"
  cat "$f" >/dev/null  # warm the page cache so every reader sees the same conditions
  wc_l "$f"
  "$BENCH" lines "$f"
  "$BENCH" read "$f" text
  py_csv "$f"
  rm -f "$f"
done
