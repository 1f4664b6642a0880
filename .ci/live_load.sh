#!/usr/bin/env bash
# The live reader's load benchmark, run once by CI (reporting only: no
# threshold fails it; a tool that fails does):
#   1. builds csi_live, csi_send, train_blob and bench_live in the release
#      build (configured here if BUILD_DIR has no cache yet);
#   2. trains a pool-last model (window 64, stride 16, 3 epochs, task motion)
#      on the real recording in tests/data/ruview-cfda8db/ (under a second);
#   3. bench_live: 64 simulated nodes x 50 frames/s for 60 s from
#      `csi_send --nodes 64` into `csi_live` on 127.0.0.1; prints the table
#      (sent/received, socket drops and other drops, frames classified,
#      arrival-to-line latency median/p99/max, CPU share, peak RSS).
#
# usage: .ci/live_load.sh [BUILD_DIR] [bench_live flags...]
#   BUILD_DIR  default build/release (the release preset's; relative to the repository root)
#   flags      e.g. --seconds 10, or --find-max (the highest lossless rate;
#              minutes, not for CI)
# Environment: JOBS (default 2). Measured: ~62 s after the build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build/release}"
shift $(( $# < 1 ? $# : 1 ))
case "$build" in /*) ;; *) build="$root/$build" ;; esac
jobs="${JOBS:-2}"
recording="$root/tests/data/ruview-cfda8db/pretrain-1775182186.first72s.csi.jsonl"

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DAETHER_NATIVE=OFF -DAETHER_BUILD_TESTS=ON \
    -DAETHER_BUILD_BENCHMARKS=ON -DAETHER_BUILD_EXAMPLES=ON >/dev/null
fi
cmake --build "$build" --target csi_live csi_send train_blob bench_live -j "$jobs"

work="$build/live_load"
rm -rf "$work"
mkdir -p "$work"
echo "--- live_load: training the model (window 64, pool last) on $(basename "$recording")"
"$build/tools/train_blob" --data "$recording" --task motion --window 64 --stride 16 --epochs 3 --pool last \
  --quiet --out "$work/live.rvne" >"$work/train.json"
echo "--- live_load: 64 nodes x 50 frames/s"
"$build/bench/bench_live" "$build/tools" "$work/live.rvne" "$recording" --nodes 64 --rate 50 --seconds 60 \
  --work "$work" "$@"
