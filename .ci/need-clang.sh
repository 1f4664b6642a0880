#!/usr/bin/env bash
# Installs what the clang CI steps (asan-clang, tsan, fuzzing) need, only
# when missing: clang++, its sanitizer runtimes (libclang-rt-14-dev) and the
# LLVM OpenMP runtime (libomp-14-dev; libgomp is not ThreadSanitizer-aware).
# Idempotent: does nothing (no apt-get) when all are present.
set -euo pipefail

need=()
command -v clang++ >/dev/null 2>&1 || need+=(clang)
for pkg in libclang-rt-14-dev libomp-14-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "need-clang.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
