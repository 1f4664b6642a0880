#!/usr/bin/env bash
# firmware_report (issue 10 item 6): the node's footprint and cost on the
# Cortex-M4F, run by .ci/firmware.sh after the images are built.
#
# usage: .ci/firmware.d/report.sh BUILD_DIR
# Environment (the acceptance limits; lower them to see the step fail):
#   MAX_PUSH_INSTRUCTIONS   mean fp32-cache streaming push (default 150000)
#   MAX_STREAM_F16_128_BYTES  RAM of a stream node, fp16 cache, capacity 128:
#                           memory_needed plus the heap taken at init (default 65536)
#   MAX_V2_PUSH_INSTRUCTIONS  v2: mean fp32-cache push_csi (featurising a
#                           64-subcarrier frame), each v2 blob (default 300000)
#   MAX_V2_STREAM_F16_128_BYTES  v2: RAM as above, fp32 blob in place (default 81920)
#   MAX_FLASH_BYTES         flash attributable to aether, v1 and v2 compiled in (default 400000)
#
#  1. runs cost_image under qemu-system-arm -M mps2-an386 -icount shift=0
#     (SysTick: one tick per 40 instructions; the image calibrates it);
#  2. flash: arm-none-eabi-size text+data of footprint_image (the whole C
#     ABI, no blob) minus empty_image (same startup and board glue);
#  3. prints the table (docs/node.md) and fails when a limit is exceeded.
set -euo pipefail
build="${1:?usage: report.sh BUILD_DIR}"
max_push="${MAX_PUSH_INSTRUCTIONS:-150000}"
max_ram="${MAX_STREAM_F16_128_BYTES:-65536}"
max_v2_push="${MAX_V2_PUSH_INSTRUCTIONS:-300000}"
max_v2_ram="${MAX_V2_STREAM_F16_128_BYTES:-81920}"
max_flash="${MAX_FLASH_BYTES:-400000}"
out="$build/cost_image.out"
fail() { echo "firmware_report: FAILED: $*" >&2; exit 1; }

[ -f "$build/cost_image" ] || fail "$build/cost_image missing"
rc=0
timeout "${QEMU_TIMEOUT:-300}" qemu-system-arm -M mps2-an386 -icount shift=0 -nographic \
  -semihosting-config enable=on,target=native -kernel "$build/cost_image" </dev/null >"$out" || rc=$?
[ "$rc" -eq 0 ] || { cat "$out" >&2; fail "cost_image exited $rc"; }

# Value of the line whose key is "$*" (the value is the last word).
val() {
  local v
  v=$(awk -v k="$*" '{ key = $1; for (i = 2; i < NF; ++i) key = key " " $i; if (key == k) { print $NF; f = 1 } } END { exit !f }' "$out") \
    || fail "cost_image printed no '$*' line"
  echo "$v"
}
size_of() { arm-none-eabi-size -B "$1" | awk 'NR == 2 { print $1 + $2 }'; }
flash=$(( $(size_of "$build/footprint_image") - $(size_of "$build/empty_image") ))
flash_bss=$(( $(arm-none-eabi-size -B "$build/footprint_image" | awk 'NR == 2 { print $3 }') - $(arm-none-eabi-size -B "$build/empty_image" | awk 'NR == 2 { print $3 }') ))

ipt=$(val calibration instructions per tick)
awk -v r="$ipt" 'BEGIN { exit !(r > 39.9 && r < 40.1) }' \
  || fail "SysTick calibration: $ipt instructions per tick, expected 40 (is -icount shift=0 in effect?)"

ram16=$(( $(val memory stream 128 f16) + $(val heap init stream f16) ))
push32=$(val push mean instructions f32)

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.2f ms", n / 240e6 * 1e3 }'; }
row() { printf '| %s | %s |\n' "$1" "$2"; }
n() { awk -v x="$1" 'BEGIN { s = sprintf("%d", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }

echo "firmware_report: AETHER default model (D 16, Hq 4, Hkv 1, d 32, 2 layers, 4 classes), Cortex-M4F (firmware toolchain Release flags), qemu mps2-an386 -icount shift=0 ($ipt instructions per SysTick tick)"
echo
row "what" "measured"
row "---" "---"
for dt in f32 f16; do
  row "stream push, capacity 128, $dt cache: mean over pushes 129..1128" "$(n "$(val push mean instructions $dt)") instructions ($(ms "$(val push mean instructions $dt)") at 240 MHz)"
  row "stream push, capacity 128, $dt cache: worst single push (push $(val push worst at $dt))" "$(n "$(val push worst instructions $dt)") instructions"
done
for w in 64 256; do
  row "ring classify, window_len $w (forward, Pool::mean)" "$(n "$(val classify instructions $w)") instructions ($(ms "$(val classify instructions $w)") at 240 MHz)"
done
row "stack high-water: stream push (f32 / f16 cache)" "$(n "$(val stack push f32)") B / $(n "$(val stack push f16)") B"
row "stack high-water: ring classify (window_len 64 / 256)" "$(n "$(val stack classify 64)") B / $(n "$(val stack classify 256)") B"
row "flash attributable to aether (C ABI, all of it; blob not included)" "$(n $flash) B text+data (+$(n $flash_bss) B bss)"
for cap in 64 128 256; do
  row "RAM memory_needed: stream, capacity $cap, fp32 / fp16 cache" "$(n "$(val memory stream $cap f32)") B / $(n "$(val memory stream $cap f16)") B"
done
for w in 64 256; do
  row "RAM memory_needed: ring, window_len $w" "$(n "$(val memory ring $w)") B"
done
row "heap taken at init (stream f32 / f16; ring 64 / 256)" "$(val heap init stream f32) / $(val heap init stream f16); $(val heap init ring 64) / $(val heap init ring 256) B"
echo

# v2: the benchmark shape, and the report's second blob (the training default,
# firmware/host/v2_blobs.hpp) when it differs from it.
v2_names=(bench)
[ "$(val v2 report same as bench)" -eq 1 ] || v2_names+=(report)
echo "firmware_report: v2 blobs (fp32, read in place; csi-amplitude featuriser, 64-subcarrier frames; every push runs aether_node_push_csi, featurisation included): bench = rvne::v2_benchmark_header() (input_dim 16, d_model 32, 2 layers of conv k5 + attention 4q/1kv x 32 with RoPE + FFN 64, 4 classes, pool last; log + centre); report = train::V2Defaults{}.shape(16, 4, ...) (the training default: the same sizes, pool mean; log + centre + standardisation), seeded weights$([ "${#v2_names[@]}" -eq 1 ] && echo '; the report blob is the same as bench')"
echo
row "v2 blob: what" "measured"
row "---" "---"
for b in "${v2_names[@]}"; do
  for dt in f32 f16; do
    row "$b: stream push_csi, capacity 128, $dt cache: mean over pushes 129..1128" "$(n "$(val v2 $b push mean instructions $dt)") instructions ($(ms "$(val v2 $b push mean instructions $dt)") at 240 MHz)"
    row "$b: stream push_csi, capacity 128, $dt cache: worst single push (push $(val v2 $b push worst at $dt))" "$(n "$(val v2 $b push worst instructions $dt)") instructions"
  done
  row "$b: ring classify, window_len 64 (forward, the blob's pool)" "$(n "$(val v2 $b classify instructions 64)") instructions ($(ms "$(val v2 $b classify instructions 64)") at 240 MHz)"
  row "$b: stack high-water: stream push_csi (f32 / f16 cache); ring classify 64" "$(n "$(val v2 $b stack push f32)") B / $(n "$(val v2 $b stack push f16)") B; $(n "$(val v2 $b stack classify 64)") B"
  row "$b: RAM memory_needed: stream, capacity 128, fp32 / fp16 cache; ring 64" "$(n "$(val v2 $b memory stream 128 f32)") B / $(n "$(val v2 $b memory stream 128 f16)") B; $(n "$(val v2 $b memory ring 64)") B"
  row "$b: heap taken at init (stream f32 / f16; ring 64)" "$(val v2 $b heap init stream f32) / $(val v2 $b heap init stream f16); $(val v2 $b heap init ring 64) B"
  row "$b: RAM stream, capacity 128, fp16 cache (memory_needed + heap at init)" "$(n $(( $(val v2 $b memory stream 128 f16) + $(val v2 $b heap init stream f16) ))) B"
done
echo

status=0
if [ "$push32" -gt "$max_push" ]; then
  echo "firmware_report: FAILED: mean fp32 streaming push $push32 instructions > $max_push" >&2; status=1
else
  echo "firmware_report: mean fp32 streaming push $push32 instructions <= $max_push"
fi
if [ "$ram16" -gt "$max_ram" ]; then
  echo "firmware_report: FAILED: stream fp16 capacity 128 needs $ram16 B (memory_needed + heap at init) > $max_ram" >&2; status=1
else
  echo "firmware_report: stream fp16 capacity 128 needs $ram16 B (memory_needed + heap at init) <= $max_ram ($(kib "$ram16"))"
fi
for b in "${v2_names[@]}"; do
  p=$(val v2 $b push mean instructions f32)
  r=$(( $(val v2 $b memory stream 128 f16) + $(val v2 $b heap init stream f16) ))
  if [ "$p" -gt "$max_v2_push" ]; then
    echo "firmware_report: FAILED: v2 $b mean fp32 streaming push_csi $p instructions > $max_v2_push" >&2; status=1
  else
    echo "firmware_report: v2 $b mean fp32 streaming push_csi $p instructions <= $max_v2_push"
  fi
  if [ "$r" -gt "$max_v2_ram" ]; then
    echo "firmware_report: FAILED: v2 $b stream fp16 capacity 128 needs $r B > $max_v2_ram" >&2; status=1
  else
    echo "firmware_report: v2 $b stream fp16 capacity 128 needs $r B (memory_needed + heap at init) <= $max_v2_ram ($(kib "$r"))"
  fi
done
if [ "$flash" -gt "$max_flash" ]; then
  echo "firmware_report: FAILED: flash attributable to aether $flash B > $max_flash" >&2; status=1
else
  echo "firmware_report: flash attributable to aether (v1 and v2) $flash B <= $max_flash"
fi
[ "$(val failures)" -eq 0 ] || { echo "firmware_report: FAILED: cost_image reported C ABI failures" >&2; status=1; }
exit $status
