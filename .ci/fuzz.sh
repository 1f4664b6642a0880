#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (libFuzzer + ASan + UBSan) in their
# own build directory and runs each from a copy of its committed seeds:
#   rvne_parse_fuzz  the .rvne reader            seeds tests/fuzz/corpus/*.rvne
#   model_fuzz       blob -> TemporalModel ->    seeds tests/fuzz/corpus_model/*.bin
#                    forward -> stream pushes
#
# usage: .ci/fuzz.sh [SECONDS] [BUILD_DIR] [TARGET...]
#   SECONDS    fuzzing time per target, default 60 (-max_total_time)
#   BUILD_DIR  default build-fuzz (relative to the repository root)
#   TARGET     default: both targets, in the order above
# Environment: CXX (default clang++), JOBS (default 2), FUZZ_ARGS (extra
# libFuzzer flags, e.g. -jobs=2 -workers=2). Exit status: 0 no finding;
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
[ "${#targets[@]}" -gt 0 ] || targets=(rvne_parse_fuzz model_fuzz)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cxx="${CXX:-clang++}"
jobs="${JOBS:-2}"

seeds_of() {
  case "$1" in
    rvne_parse_fuzz) ls "$root"/tests/fuzz/corpus/*.rvne ;;
    model_fuzz) ls "$root"/tests/fuzz/corpus_model/*.bin ;;
    *) echo "fuzz.sh: unknown target $1" >&2; return 2 ;;
  esac
}

cmake -S "$root/tests/fuzz" -B "$build" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAETHER_BUILD_FUZZERS=ON -DAETHER_BUILD_TESTS=OFF -DAETHER_BUILD_BENCHMARKS=OFF \
  -DAETHER_BUILD_EXAMPLES=OFF -DAETHER_INSTALL=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "$jobs"

for target in "${targets[@]}"; do
  echo "--- $target, ${seconds}s"
  # Work on a copy of the committed seeds: libFuzzer adds what it finds to the
  # first corpus directory, and the source tree must stay untouched.
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*
  seeds=$(seeds_of "$target")
  [ -n "$seeds" ] || { echo "fuzz.sh: no seeds for $target" >&2; exit 1; }
  # shellcheck disable=SC2086
  cp $seeds "$corpus"/

  log="$build/$target.log"
  set +e
  # shellcheck disable=SC2086
  "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" 2>&1 | tee "$log" |
    grep -E "^#[0-9]+.*(DONE|INITED)|ERROR|SUMMARY|violated|crash-|leak-|timeout-"
  status=${PIPESTATUS[0]}
  set -e

  grep -E "stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: $target FAILED (exit $status); see $log and $artifacts/" >&2
    exit "$status"
  fi
  if ls "$artifacts"/* >/dev/null 2>&1; then
    echo "fuzz.sh: $target wrote artifacts to $artifacts/" >&2
    exit 1
  fi
  echo "fuzz.sh: $target: no findings in ${seconds}s"
done
