#!/usr/bin/env bash
# Big-endian step: the .rvne codec cross-compiled for s390x and run under
# qemu-user, compared with the same code on this (little-endian) host.
#
# usage: .ci/s390x.sh [BUILD_DIR]     (default build-s390x, relative to the repo)
# Environment: JOBS (default 2).
#
#  1. installs g++-s390x-linux-gnu and qemu-user when missing (apt-get);
#  2. configures tests/cross twice: with cmake/toolchains/s390x-linux-gnu.cmake
#     (GoogleTest built from /usr/src/googletest by the cross compiler) and
#     with the host compiler (only rvne_codec_report and init_random_blob);
#  3. ctest of the cross build under qemu-s390x: rvne_test (hostile inputs
#     get their documented error codes, CRCs, the reference sha256),
#     rvne_v2_test (the version 2 codec: round trips, every validation rule,
#     and TemporalModel's forward and stream over v2 blobs), rvne_alloc_test,
#     half_test, and the rvne/init_random_blob exit codes;
#  4. model_init.rvne written by the s390x init_random_blob has the sha256 of
#     the x86 one and the documented 7c6c074e...d49d;
#  5. rvne_codec_report over every blob the tests hold (tests/data/**.rvne,
#     tests/fuzz/corpus*/) and blobs made in memory: its report (error code,
#     CRC, header, re-serialisation identical) and every file it writes
#     (re-serialised blobs, widened weights, generated blobs) are identical
#     on both hosts; version 2 blobs (the committed v2 fuzz seeds and
#     init_trainable(v2_benchmark_header(), 19) and a small gated,
#     standardised shape, fp32 and fp16, converted both ways) with their
#     decoded descriptor and every tensor's offset and widened-value CRC.
# Exit status: non-zero on the first failing check.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build-s390x}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
jobs="${JOBS:-2}"
sysroot=/usr/s390x-linux-gnu
documented_sha=7c6c074ef3b6b23b4d9ae2327deaade81329f003c3a52b59581492c08252d49d

fail() { echo "s390x.sh: FAILED: $*" >&2; exit 1; }

# --- 1. toolchain and emulator, only when missing ---
need=()
command -v s390x-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-s390x-linux-gnu)
command -v s390x-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-s390x-linux-gnu)
command -v qemu-s390x >/dev/null 2>&1 || need+=(qemu-user)
[ -f /usr/src/googletest/googletest/CMakeLists.txt ] || need+=(googletest)
if [ "${#need[@]}" -gt 0 ]; then
  echo "s390x.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- 2. configure and build, cross and host ---
cmake -S "$root/tests/cross" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/s390x-linux-gnu.cmake" >/dev/null
cmake --build "$build" --target cross_all -j "$jobs"
cmake -S "$root/tests/cross" -B "$build/host" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build/host" --target rvne_codec_report init_random_blob -j "$jobs"

run() { qemu-s390x -L "$sysroot" "$@"; }
# The binaries really are big-endian s390x (a host binary here would prove nothing).
file -b "$build/rvne_test" | grep -q "MSB.*S/390" || fail "$build/rvne_test is not an s390x binary: $(file -b "$build/rvne_test")"
[ "$(run "$build/rvne_codec_report" 2>&1 | head -1)" = "usage: rvne_codec_report OUT_DIR FILE..." ] \
  || fail "qemu-s390x cannot run the cross-built programs"

# --- 3. the codec's suites under qemu ---
ctest --test-dir "$build" --output-on-failure -j "$jobs"

# --- 4. model_init.rvne: same bytes as on x86 ---
work="$build/compare"
rm -rf "$work"
mkdir -p "$work/s390x" "$work/host"
run "$build/aether/examples/init_random_blob" "$work/s390x/model_init.rvne" >/dev/null
"$build/host/aether/examples/init_random_blob" "$work/host/model_init.rvne" >/dev/null
sha_s390x=$(sha256sum "$work/s390x/model_init.rvne" | cut -d' ' -f1)
sha_host=$(sha256sum "$work/host/model_init.rvne" | cut -d' ' -f1)
echo "model_init.rvne sha256: s390x $sha_s390x, host $sha_host"
[ "$sha_s390x" = "$sha_host" ] || fail "model_init.rvne differs between s390x and the host"
[ "$sha_s390x" = "$documented_sha" ] || fail "model_init.rvne sha256 is not the documented $documented_sha"

# --- 5. every blob the tests hold: same verdicts, CRCs and bytes ---
mapfile -t blobs < <(find "$root/tests/data" "$root"/tests/fuzz/corpus* -type f \
                       \( -name '*.rvne' -o -path '*/fuzz/corpus*' \) | LC_ALL=C sort)
[ "${#blobs[@]}" -gt 0 ] || fail "no blobs found under tests/data and tests/fuzz/corpus*"
# Basenames must be unique: the report and its files are keyed by them.
dupes=$(printf '%s\n' "${blobs[@]##*/}" | sort | uniq -d)
[ -z "$dupes" ] || fail "blob file names are not unique: $dupes"
run "$build/rvne_codec_report" "$work/s390x/report" "${blobs[@]}" >"$work/s390x/report.txt" \
  || fail "rvne_codec_report on s390x (see $work/s390x/report.txt)"
"$build/host/rvne_codec_report" "$work/host/report" "${blobs[@]}" >"$work/host/report.txt" \
  || fail "rvne_codec_report on the host (see $work/host/report.txt)"
diff -u "$work/host/report.txt" "$work/s390x/report.txt" || fail "codec report differs between the host and s390x"
diff -r "$work/host/report" "$work/s390x/report" || fail "files written by the codec differ between the host and s390x"
for v2 in gen_v2_benchmark_f32.rvne gen_v2_small_gated_f16.rvne; do
  [ -f "$work/s390x/report/$v2" ] || fail "the s390x report wrote no $v2"
  echo "$v2 sha256: s390x $(sha256sum "$work/s390x/report/$v2" | cut -d' ' -f1)," \
       "host $(sha256sum "$work/host/report/$v2" | cut -d' ' -f1)"
done
v2_accepted=$(grep -c " v2 blocks " "$work/host/report.txt" || true)
[ "$v2_accepted" -gt 0 ] || fail "no version 2 blob was accepted by the report"
accepted=$(grep -c "code ok" "$work/host/report.txt" || true)
echo "s390x.sh: ${#blobs[@]} stored blobs + generated ones, $(wc -l <"$work/host/report.txt") reports" \
     "($accepted accepted, $v2_accepted of them version 2, $(ls "$work/host/report" | wc -l) files) identical on s390x and the host"
