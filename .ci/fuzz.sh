#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (libFuzzer + ASan + UBSan) in their
# own build directory and runs each from a copy of its committed seeds:
#   rvne_parse_fuzz  the .rvne reader            seeds tests/fuzz/corpus/*.rvne
#   model_fuzz       blob -> TemporalModel ->    seeds tests/fuzz/corpus_model/*.bin
#                    forward -> stream pushes
#   json_fuzz        aether::io's readers: recording lines and meta, sidecar
#                    (matching / mismatching blob), labels CSV
#                                                seeds tests/fuzz/corpus_json/*.bin
#   node_fuzz        the C ABI: init in exactly memory_needed bytes (and one
#                    less), pushes, classify, reset, no allocation after init
#                                                seeds tests/fuzz/corpus_node/*.bin
#   datagram_fuzz    the nodes' UDP datagrams (io/datagram.hpp): one outcome
#                    each, no read past the datagram
#                                                seeds tests/fuzz/corpus_datagram/*.bin
#
# usage: .ci/fuzz.sh [SECONDS] [BUILD_DIR] [TARGET...]
#   SECONDS    fuzzing time per target, default 60 (-max_total_time)
#   BUILD_DIR  default build-fuzz (relative to the repository root)
#   TARGET     default: all five targets, in the order above
# Environment: CXX (default clang++), JOBS (default 2: build jobs),
# PARALLEL (default 2: targets fuzzed at once, one process each, so four
# targets of 60 s take about 2 minutes), FUZZ_ARGS (extra libFuzzer flags).
# Exit status: 0 no finding;
# non-zero on a crash, leak, sanitizer report, timeout or build failure
# (reproducers land in BUILD_DIR/artifacts/<target>/; the grown corpus stays in
# BUILD_DIR/corpus/<target>/ and is reused by the next run in the same dir).
#
# The fuzz directory is configured on its own (cmake -S tests/fuzz), which
# pulls the library in as a subproject with tests, benchmarks, examples and
# install rules off; AETHER_BUILD_FUZZERS=ON is passed for clarity.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${2:-build-fuzz}"
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(rvne_parse_fuzz model_fuzz json_fuzz node_fuzz datagram_fuzz)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cxx="${CXX:-clang++}"
jobs="${JOBS:-2}"
parallel="${PARALLEL:-2}"

seeds_of() {
  case "$1" in
    rvne_parse_fuzz) ls "$root"/tests/fuzz/corpus/*.rvne ;;
    model_fuzz) ls "$root"/tests/fuzz/corpus_model/*.bin ;;
    json_fuzz) ls "$root"/tests/fuzz/corpus_json/*.bin ;;
    node_fuzz) ls "$root"/tests/fuzz/corpus_node/*.bin ;;
    datagram_fuzz) ls "$root"/tests/fuzz/corpus_datagram/*.bin ;;
    *) echo "fuzz.sh: unknown target $1" >&2; return 2 ;;
  esac
}

cmake -S "$root/tests/fuzz" -B "$build" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAETHER_BUILD_FUZZERS=ON -DAETHER_BUILD_TESTS=OFF -DAETHER_BUILD_BENCHMARKS=OFF \
  -DAETHER_BUILD_EXAMPLES=OFF -DAETHER_INSTALL=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "$jobs"

# fuzz_one TARGET: fuzzes it from a copy of its seeds; prints its summary
# when done (so parallel runs do not interleave); exit status: its verdict.
fuzz_one() {
  local target="$1"
  # Work on a copy of the committed seeds: libFuzzer adds what it finds to the
  # first corpus directory, and the source tree must stay untouched.
  local corpus="$build/corpus/$target" artifacts="$build/artifacts/$target" log="$build/$target.log" seeds status
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*
  seeds=$(seeds_of "$target") || return 2
  [ -n "$seeds" ] || { echo "fuzz.sh: no seeds for $target" >&2; return 1; }
  # shellcheck disable=SC2086
  cp $seeds "$corpus"/

  set +e
  # shellcheck disable=SC2086
  "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
  status=$?
  set -e

  echo "--- $target, ${seconds}s"
  grep -E "^#[0-9]+.*(DONE|INITED)|ERROR|SUMMARY|violated|crash-|leak-|timeout-|stat::number_of_executed_units" "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: $target FAILED (exit $status); see $log and $artifacts/" >&2
    return "$status"
  fi
  if ls "$artifacts"/* >/dev/null 2>&1; then
    echo "fuzz.sh: $target wrote artifacts to $artifacts/" >&2
    return 1
  fi
  echo "fuzz.sh: $target: no findings in ${seconds}s"
}

# Up to $parallel targets at once; every target runs even when one fails.
failed=0
pids=()
for target in "${targets[@]}"; do
  fuzz_one "$target" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$parallel" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
exit "$failed"
