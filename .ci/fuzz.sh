#!/usr/bin/env bash
# Builds the .rvne parser fuzzer with clang (libFuzzer + ASan + UBSan) in its
# own build directory and runs it.
#
# usage: .ci/fuzz.sh [SECONDS] [BUILD_DIR]
#   SECONDS    fuzzing time, default 60 (-max_total_time)
#   BUILD_DIR  default build-fuzz (relative to the repository root)
# Environment: CXX (default clang++), JOBS (default 2), FUZZ_ARGS (extra
# libFuzzer flags). Exit status: 0 no finding; non-zero on a crash, leak,
# sanitizer report, timeout or build failure (reproducers land in
# BUILD_DIR/artifacts/).
#
# The fuzz directory is configured on its own (cmake -S tests/fuzz), which
# pulls the library in as a subproject with tests, benchmarks, examples and
# install rules off; AETHER_BUILD_FUZZERS=ON is passed for clarity.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${2:-build-fuzz}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cxx="${CXX:-clang++}"
jobs="${JOBS:-2}"

cmake -S "$root/tests/fuzz" -B "$build" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAETHER_BUILD_FUZZERS=ON -DAETHER_BUILD_TESTS=OFF -DAETHER_BUILD_BENCHMARKS=OFF \
  -DAETHER_BUILD_EXAMPLES=OFF -DAETHER_INSTALL=OFF >/dev/null
cmake --build "$build" --target rvne_parse_fuzz -j "$jobs"

# Work on a copy of the committed seeds: libFuzzer adds what it finds to the
# first corpus directory, and the source tree must stay untouched.
corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
cp "$root"/tests/fuzz/corpus/*.rvne "$corpus"/

log="$build/fuzz.log"
set +e
# shellcheck disable=SC2086
"$build/rvne_parse_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" ${FUZZ_ARGS:-} "$corpus" 2>&1 | tee "$log" | grep -E "^#[0-9]+.*(DONE|INITED)|ERROR|SUMMARY|crash-|leak-|timeout-" 
status=${PIPESTATUS[0]}
set -e

echo "--- exec count"
grep -E "stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" "$log" || true
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: rvne_parse_fuzz FAILED (exit $status); see $log and $build/artifacts/" >&2
  exit "$status"
fi
if ls "$build"/artifacts/* >/dev/null 2>&1; then
  echo "fuzz.sh: artifacts were written to $build/artifacts/" >&2
  exit 1
fi
echo "fuzz.sh: no findings in ${seconds}s"
